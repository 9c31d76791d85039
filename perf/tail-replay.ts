/**
 * The tail/record/replay harness (issue #5): runs the built CLI against a private mosquitto, as a user would, and
 * prints the figures the issue asks for. A benchmark, not a test: run it by hand on a quiet machine and copy the
 * table into perf/RESULTS.md with the date, machine and load average (printed with each case).
 *
 *   npm run build && node --import tsx perf/tail-replay.ts [replay-max] [replay-timing] [round-trip] [tail-flood]
 *     [--runs 3] [--rows 1000000] [--minutes 10] [--speed 10] [--rate 50000] [--seconds 10]
 *
 * replay-max     a capture of --rows rows (QoS 0, ~60-byte JSON payloads) replayed with --max-speed: msg/s from
 *                the replay's own summary, the broker's count ($SYS) as the independent check, peak RSS.
 * replay-timing  a capture of --minutes with irregular gaps (bursts, 0–20 ms, pauses) replayed at --speed: the
 *                replay's scheduling error p50/p99/max, and an independent subscriber's view: arrival offset error
 *                p99 and the drift between the first and last tenth of the run.
 * round-trip     `iotd sim` traffic (8 devices, --seconds) recorded with `iotd record`, replayed at 1× with `iotd replay`
 *                and recorded again: same (topic, qos, retain, payload) sequence, and the relative timing error p99
 *                (each row's time in the second recording minus the first's, against the median of those).
 * tail-flood     a publisher at --rate msg/s for --seconds into `iotd tail --format ndjson` (stdout piped and
 *                counted) and into `iotd tail --stats`: how many arrived and how long after the last publish.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parse} from 'csv-parse/sync'
import {connectOnce} from '../src/net/mqtt-connection.js'
import {captureHeaderLine, captureRow, csvLine} from '../src/capture/index.js'
import {MqttSource, mqttSourceOptions} from '../src/pipeline/sources/mqtt.js'
import {toolContext} from '../src/tools/context.js'
import {startMosquitto, stopAllMosquittos, type Mosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {median, loadNow} from './run-figures.js'
import {runTimedCli, startTimedCli} from './timed-cli.js'
import {writeRowsFile} from './row-files.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const {options, named} = harnessArgs({runs: 1, rows: 1_000_000, minutes: 10, speed: 10, rate: 50_000, seconds: 10})
const {runs} = options
const chosen = pickCases(named, ['replay-max', 'replay-timing', 'round-trip', 'tail-flood'])
const work = mkdtempSync(join(tmpdir(), 'iotd-perf-trr-'))

const load = loadNow

async function replayMax(broker: Mosquitto): Promise<void> {
  const {rows} = options
  const file = join(work, `max-${rows}.csv`)
  // Microsecond times, 100 µs apart.
  writeRowsFile(
    file,
    captureHeaderLine(false),
    rows,
    (i) => `${1_767_225_600_000_000 + (i + 1) * 100},plant/line${i % 10}/dev${i % 100}/telemetry,0,0,utf8,"{""seq"":${i},""temp"":${(20 + (i % 50) / 10).toFixed(1)},""ok"":true}"\n`,
  )
  const rates: number[] = []
  for (let r = 0; r < runs; r++) {
    const before = Number(await broker.readSys('broker/publish/messages/received').catch(() => '0'))
    const run = await runTimedCli(['replay', file, '--broker', broker.url, '--max-speed', '--json'])
    const s = JSON.parse(run.stdout)
    const after = await broker.readSysSettled('broker/publish/messages/received').catch(() => 0)
    rates.push(s.achievedRate)
    const cpuPerM = run.cpuSeconds === undefined ? 'n/a' : ((run.cpuSeconds * 1e6) / rows).toFixed(2)
    console.log(`replay-max run ${r + 1}: ${s.published} published in ${(s.durationMs / 1000).toFixed(2)} s = ${Math.round(s.achievedRate)} msg/s (broker counted ${after - before}); peak RSS ${Math.round((run.maxRssKb ?? 0) / 1024)} MiB; ${cpuPerM} CPU-s per 1 M rows (whole process, start-up included); ${load()}`)
  }
  console.log(`replay-max median: ${Math.round(median(rates))} msg/s over ${rows} rows`)
}

async function replayTiming(broker: Mosquitto): Promise<void> {
  const {minutes} = options
  const {speed} = options
  const file = join(work, `timing-${minutes}m.csv`)
  let seed = 42
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
  let text = captureHeaderLine(false)
  const offsets: number[] = []
  let ms = 0
  for (let i = 0; ms < minutes * 60_000; i++) {
    const r = random()
    ms += r < 0.15 ? 0 : r < 0.97 ? random() * 20 : 100 + random() * 200
    offsets.push(ms)
    text += csvLine(captureRow({tsMs: 1_767_225_600_000 + ms, topic: 'timing/x', qos: 0, retain: false, payload: Buffer.from(String(i))}, false))
  }
  writeFileSync(file, text)
  for (let r = 0; r < runs; r++) {
    const source = new MqttSource('listen', mqttSourceOptions.parse({url: broker.url, topics: ['timing/#'], payload: 'raw', queueSize: 1_000_000}))
    await source.connect()
    const controller = new AbortController()
    const arrivals = new Float64Array(offsets.length)
    let got = 0
    const loop = (async () => {
      for await (const batch of source.readBatches(toolContext(controller.signal))) {
        for (const d of batch) {
          arrivals[Number(d.record.payload!.toString())] = d.record.ts
          got++
        }
      }
    })()
    const run = await runTimedCli(['replay', file, '--broker', broker.url, '--speed', String(speed), '--json'])
    await new Promise((res) => setTimeout(res, 500))
    controller.abort()
    await loop
    await source.close()
    const s = JSON.parse(run.stdout)
    // Offset error against the median offset, so one late first message does not shift every other error.
    const raw = Array.from(arrivals, (a, i) => a - offsets[i] / speed)
    const mid = [...raw].sort((a, b) => a - b)[Math.floor(raw.length / 2)]
    const err = raw.map((e) => e - mid)
    const abs = err.map(Math.abs).sort((a, b) => a - b)
    const tenth = Math.floor(err.length / 10)
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
    const drift = mean(err.slice(-tenth)) - mean(err.slice(0, tenth))
    console.log(
      `replay-timing run ${r + 1}: ${offsets.length} rows over ${minutes} min at ${speed}× (${((offsets.at(-1)! / speed) / 1000).toFixed(1)} s): scheduling error p50 ${s.timing.p50} ms p99 ${s.timing.p99} ms max ${s.timing.max} ms; subscriber saw ${got}, arrival offset error p99 ${abs[Math.floor(abs.length * 0.99)].toFixed(2)} ms, drift first→last tenth ${drift.toFixed(2)} ms, last message ${err.at(-1)!.toFixed(2)} ms; ${load()}`,
    )
  }
}

/** The e2e test's round-trip scenario (8 devices; the run length comes from --seconds). */
const ROUND_TRIP_SCENARIO = join(ROOT, 'test/fixtures/scenarios/round-trip.yaml')

/** `iotd record` until SIGINT; resolves `ready` once it has subscribed. */
function recorder(broker: Mosquitto, out: string) {
  let ready!: () => void
  const subscribed = new Promise<void>((res) => (ready = res))
  const run = startTimedCli(['record', 'rt/#', '--broker', broker.url, '--qos', '1', '--out', out], {onStderr: (s) => /^(subscribed to|recording) /m.test(s) && ready()})
  return {subscribed, stop: async () => (run.kill('SIGINT'), run.done)}
}

async function roundTrip(broker: Mosquitto): Promise<void> {
  const {seconds} = options
  const scenario = ROUND_TRIP_SCENARIO
  const p99s: number[] = []
  for (let r = 0; r < runs; r++) {
    const first = join(work, `rt-${r}-first.csv`)
    const second = join(work, `rt-${r}-second.csv`)
    const rec1 = recorder(broker, first)
    await rec1.subscribed
    await runTimedCli(['sim', scenario, '--broker', broker.url, '--duration', `${seconds}s`, '--quiet'])
    await new Promise((res) => setTimeout(res, 500))
    await rec1.stop()
    const rec2 = recorder(broker, second)
    await rec2.subscribed
    const replay = await runTimedCli(['replay', first, '--broker', broker.url, '--json'])
    await new Promise((res) => setTimeout(res, 500))
    await rec2.stop()
    const read = (f: string) => (parse(readFileSync(f)) as string[][]).slice(1)
    const a = read(first)
    const b = read(second)
    const same = a.length === b.length && a.every((row, i) => row.slice(1).join('\0') === b[i].slice(1).join('\0'))
    const shift = a.map((row, i) => (Number(b[i]?.[0]) - Number(row[0])) / 1000)
    const mid = median(shift)
    const diffs = shift.map((d) => Math.abs(d - mid)).sort((x, y) => x - y)
    const p99 = diffs[Math.floor(diffs.length * 0.99)]
    p99s.push(p99)
    const timing = JSON.parse(replay.stdout).timing
    console.log(
      `round-trip run ${r + 1}: ${a.length} rows recorded, ${b.length} recorded again, sequence ${same ? 'identical' : 'DIFFERENT'}; relative timing error p50 ${diffs[Math.floor(diffs.length / 2)].toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${diffs.at(-1)!.toFixed(2)} ms; replay scheduling p99 ${timing.p99} ms; ${load()}`,
    )
  }
  console.log(`round-trip median p99: ${median(p99s).toFixed(2)} ms over ${runs} runs`)
}

async function tailFlood(broker: Mosquitto): Promise<void> {
  const {rate} = options
  const {seconds} = options
  for (const mode of ['ndjson', 'stats'] as const) {
    for (let r = 0; r < runs; r++) {
      let ready!: () => void
      const subscribed = new Promise<void>((res) => (ready = res))
      const args = mode === 'ndjson' ? ['tail', 'flood/#', '--broker', broker.url, '--format', 'ndjson'] : ['tail', 'flood/#', '--broker', broker.url, '--stats']
      const tail = startTimedCli(args, {keepStdout: mode === 'stats', onStderr: (s) => /subscribed to/.test(s) && ready()})
      await subscribed
      const pub = await connectOnce({url: broker.url, clientId: `flood-${r}`})
      const payload = Buffer.from(JSON.stringify({temp: 21.5, hum: 40, ok: true, site: 'berlin'}))
      const total = rate * seconds
      const t0 = performance.now()
      let sent = 0
      while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * rate))
        const n = due - sent
        if (n > 0) {
          await new Promise<void>((res) => {
            for (let k = 0; k < n; k++) pub.publish(`flood/${(sent + k) % 50}`, payload, {qos: 0}, k === n - 1 ? () => res() : undefined)
          })
          sent += n
        } else await new Promise((res) => setTimeout(res, 1))
      }
      const pubSeconds = (performance.now() - t0) / 1000
      await new Promise((res) => setTimeout(res, 1500))
      tail.kill('SIGINT')
      const run = await tail.done
      pub.end(true)
      // --stats ends with a "total (N topics)  COUNT …" row (before #13 item 19: "COUNT messages on N topics").
      const statsTotal = /^total \(\d+ topics?\)\s+([\d,]+)\s/m.exec(run.stdout) ?? /([\d,]+) messages on/.exec(run.stdout)
      const count = mode === 'ndjson' ? run.lines : Number(statsTotal?.[1].replace(/,/g, '') ?? 0)
      console.log(`tail-flood ${mode} run ${r + 1}: published ${sent} in ${pubSeconds.toFixed(2)} s (${Math.round(sent / pubSeconds)} msg/s); tail got ${count} (${((count / sent) * 100).toFixed(2)} %) within 1.5 s after the last publish; peak RSS ${Math.round((run.maxRssKb ?? 0) / 1024)} MiB; ${load()}`)
    }
  }
}

// Nagle off on the broker's side (README.md, "Watch, capture, replay"): with mosquitto's default a delivery can wait up to
// 40 ms for the subscriber's delayed ACK, which would be all a timing figure shows.
const broker = await startMosquitto({extraConfig: ['set_tcp_nodelay true']})
try {
  if (chosen.includes('replay-max')) await replayMax(broker)
  if (chosen.includes('replay-timing')) await replayTiming(broker)
  if (chosen.includes('round-trip')) await roundTrip(broker)
  if (chosen.includes('tail-flood')) await tailFlood(broker)
} finally {
  await stopAllMosquittos()
}
