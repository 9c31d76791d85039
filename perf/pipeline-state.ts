/**
 * Checkpointed state and the input log (issue #12, acceptance 8). A benchmark, not a test: run it by hand under
 * `flock /tmp/iotd-perf.lock` and copy the table into perf/RESULTS.md with the date, machine and load.
 *
 *   npm run build && node --import tsx perf/pipeline-state.ts [csv] [checkpoint] [mqtt] [--rows 1000000] [--runs 3] [--messages 100000]
 *
 * No case named: all three, one after the other, medians of --runs.
 *
 * csv:        1,000,000-row CSV -> WHERE + per-device 10 s tumbling avg -> JSON-lines file, with checkpoints off and
 *             on (state every 500 ms), runs interleaved off/on so both see the same machine; wall throughput and the
 *             process's CPU time per run (the off/on CPU ratio holds on a crowded machine too). Target: on >=
 *             400,000 events/s and at most 15 % slower than off.
 * checkpoint: 100,000 open keyed windows: snapshot + encode (CPU time too) + write + fsync + rename of one checkpoint
 *             (the work of StateStore.commit), and the file's size. Target: <= 200 ms.
 * mqtt:       a private mosquitto with its default configuration (max_inflight_messages 20): --messages QoS 1
 *             messages queued for a persistent session, then `iotd pipeline run` (keyed 10 s tumbling windows,
 *             state on) takes them: messages per second until all are in the input log. Target: >= 20,000 msg/s.
 */
import {spawn} from 'node:child_process'
import {createWriteStream, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {once} from 'node:events'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import mqtt from 'mqtt'
import {loadPipeline, runPipeline} from '../src/pipeline/index.js'
import {RuleRunner, type OutputRow} from '../src/pipeline/runtime/rule-runner.js'
import {CHECKPOINT_VERSION, StateStore, encodeCheckpoint} from '../src/pipeline/state/index.js'
import {startMosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {median, machineLine} from './run-figures.js'

const {options, named} = harnessArgs({rows: 1_000_000, runs: 3, messages: 100_000})
const ROWS = options.rows
const RUNS = options.runs
const MESSAGES = options.messages
const chosen = pickCases(named, ['csv', 'checkpoint', 'mqtt'])
const want = (c: string) => chosen.includes(c)
const work = mkdtempSync(join(tmpdir(), 'iotd-state-perf-'))
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const RULE = 'SELECT deviceId, avg(temp) AS t, count(*) AS n, window_start() AS ws FROM s WHERE temp > 21 GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)'

async function writeCsv(): Promise<void> {
  const csv = createWriteStream(join(work, 'data.csv'))
  csv.write('ts,deviceId,temp,humidity\n')
  let c = ''
  for (let i = 0; i < ROWS; i++) {
    c += `${1_767_225_600_000 + i},dev-${i % 100},${(20 + ((i * 7919) % 1000) / 50).toFixed(2)},${(40 + ((i * 104_729) % 400) / 10).toFixed(1)}\n`
    if (i % 10_000 === 9999) {
      if (!csv.write(c)) await once(csv, 'drain')
      c = ''
    }
  }
  csv.end(c)
  await once(csv, 'close')
}

async function csvRun(state: boolean, n: number): Promise<{eps: number; cpuUs: number; checkpoints: number}> {
  const text = `version: 1
sources:
  s: {type: csv, path: data.csv, format: mapped, timeColumn: ts, timeFormat: epoch-ms, topic: "perf/{deviceId}", payloadColumns: [deviceId, temp, humidity]}
rules:
  - sql: ${RULE}
    sinks: [{type: file, path: out.jsonl, format: jsonl, batch: {count: 1000, interval: 1s}}]
`
  const pipeline = loadPipeline(join(work, 'p.yaml'), {text})
  const t = performance.now()
  const cpu = process.cpuUsage()
  const s = await runPipeline({pipeline, state: state ? {dir: join(work, `state-${n}`), intervalMs: 500, fsync: 'everysec'} : undefined, warn: (m) => process.stderr.write(`${m}\n`)})
  const used = process.cpuUsage(cpu)
  const ms = performance.now() - t
  if (s.error || s.eventsIn !== ROWS) throw new Error(s.error ?? `read ${s.eventsIn}`)
  return {eps: (ROWS * 1000) / ms, cpuUs: used.user + used.system, checkpoints: s.state?.checkpoints ?? 0}
}

async function csvCase(): Promise<void> {
  await writeCsv()
  const off: number[] = []
  const on: number[] = []
  const offCpu: number[] = []
  const onCpu: number[] = []
  const cps: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const a = await csvRun(false, r)
    off.push(a.eps)
    offCpu.push(a.cpuUs)
    const x = await csvRun(true, r)
    on.push(x.eps)
    onCpu.push(x.cpuUs)
    cps.push(x.checkpoints)
    process.stderr.write(`csv run ${r + 1}: off ${fmt(off[r])}/s, on ${fmt(on[r])}/s (${x.checkpoints} checkpoints); CPU off ${(a.cpuUs / 1e3).toFixed(0)} ms, on ${(x.cpuUs / 1e3).toFixed(0)} ms; load ${loadavg()[0].toFixed(1)}\n`)
  }
  const slower = (1 - median(on) / median(off)) * 100
  // CPU time (all threads) per run: what checkpoints cost whatever else the machine runs.
  const cpuMore = (median(onCpu) / median(offCpu) - 1) * 100
  console.log(`| csv ${fmt(ROWS)} rows -> WHERE + keyed 10 s tumbling avg -> file, checkpoints off | **${fmt(median(off))} events/s** median, CPU ${(median(offCpu) / 1e3).toFixed(0)} ms | ${off.map(fmt).join('; ')} |`)
  console.log(
    `| the same, checkpoints on (every 500 ms: ${cps.join('/')} per run) | **${fmt(median(on))} events/s** median, ${slower.toFixed(1)} % slower; CPU ${(median(onCpu) / 1e3).toFixed(0)} ms, ${cpuMore.toFixed(1)} % more | ${on.map(fmt).join('; ')} |`,
  )
}

async function checkpointCase(): Promise<void> {
  const pipeline = loadPipeline(join(work, 'w.yaml'), {
    text: `version: 1\nsources: {s: {type: stdin, timestamp: ts}}\nrules: [{sql: "SELECT deviceId, avg(temp) AS t, max(temp) AS hi, count(*) AS n FROM s GROUP BY deviceId, TUMBLINGWINDOW(mi, 5)"}]\n`,
  })
  const runner = new RuleRunner({name: 'w', plan: pipeline.rules[0].plan, tables: pipeline.tables})
  const out: OutputRow[] = []
  for (let i = 0; i < 100_000; i++) {
    const fields = {ts: 1_767_225_600_000 + (i % 1000), deviceId: `device-${i}`, temp: 20 + (i % 10)}
    runner.process({ts: fields.ts, fields, meta: {source: 's'}}, {timestamp: fields.ts}, undefined, out)
  }
  const ms: number[] = []
  const encodeMs: number[] = []
  const encodeCpuMs: number[] = []
  let bytes = 0
  for (let r = 0; r < RUNS; r++) {
    const store = new StateStore({dir: join(work, `cp-${r}`), fsync: 'never', pipelineName: 'w', fingerprints: {}})
    const t = performance.now()
    const cpu = process.cpuUsage()
    const body = encodeCheckpoint({version: CHECKPOINT_VERSION, pipeline: 'w', fingerprints: {}, createdAt: Date.now(), replayFrom: store.log.rotate(), positions: {}, rules: {w: runner.snapshot()}})
    encodeMs.push(performance.now() - t)
    const used = process.cpuUsage(cpu)
    // CPU time of the work on the event loop (snapshot + encode; GC threads included): what a crowded machine cannot inflate.
    encodeCpuMs.push((used.user + used.system) / 1000)
    await store.commit(body, 0)
    ms.push(performance.now() - t)
    bytes = body.length
    await store.close()
  }
  console.log(
    `| checkpoint of 100,000 open keyed windows (snapshot, encode, write, fsync, rename) | **${median(ms).toFixed(0)} ms** median (snapshot + encode ${median(encodeMs).toFixed(0)} ms wall, ${median(encodeCpuMs).toFixed(0)} ms CPU), ${(bytes / 1e6).toFixed(1)} MB | ${ms.map((x) => x.toFixed(0)).join('; ')} ms |`,
  )
}

async function mqttCase(): Promise<void> {
  const broker = await startMosquitto({brokerDefaults: true, extraConfig: ['max_queued_messages 0']})
  const file = join(work, 'mqtt.yaml')
  writeFileSync(
    file,
    `version: 1
name: perf-state-mqtt
sources:
  s: {type: mqtt, url: "${broker.url}", topics: ["perf/#"], qos: 1, clientId: perf-state, clean: false, timestamp: ts}
rules:
  - sql: SELECT deviceId, count(*) AS n, avg(temp) AS t FROM s GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)
    sinks: [{type: file, path: ${join(work, 'mqtt-out.jsonl')}, format: jsonl}]
`,
  )
  const rates: number[] = []
  try {
    for (let r = 0; r < RUNS; r++) {
      const stateDir = join(work, `mqtt-state-${r}`)
      // The session exists first (a short run), then the messages are queued for it while nothing consumes.
      const first = spawn(process.execPath, ['bin/run.js', 'pipeline', 'run', file, '--quiet', '--state-dir', stateDir, '--duration', '1s'], {stdio: 'ignore'})
      await once(first, 'close')
      const pub = await mqtt.connectAsync(broker.url)
      for (let i = 0; i < MESSAGES; i += 1000) {
        await Promise.all(Array.from({length: 1000}, (_, j) => pub.publishAsync(`perf/dev-${(i + j) % 100}`, JSON.stringify({deviceId: `dev-${(i + j) % 100}`, ts: 1_767_225_600_000 + i + j, temp: 20}), {qos: 1})))
      }
      await pub.endAsync()
      const t = performance.now()
      const child = spawn(process.execPath, ['bin/run.js', 'pipeline', 'run', file, '--state-dir', stateDir], {stdio: ['ignore', 'ignore', 'pipe']})
      let err = ''
      let doneAt = 0
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString()
        const m = [...err.matchAll(/in ([\d,]+) /g)].at(-1)
        if (!doneAt && m && Number(m[1].replace(/,/g, '')) >= MESSAGES) {
          doneAt = performance.now()
          child.kill('SIGINT')
        }
      })
      await once(child, 'close')
      const inMatch = [...err.matchAll(/([\d,.]+)s {2}in ([\d,]+) /g)]
      // Rate from the progress lines: messages over the time between the first and the last of them that moved.
      const firstIn = inMatch.find((m) => Number(m[2].replace(/,/g, '')) > 0)
      const last = inMatch.at(-1)
      const rate = firstIn && last ? (Number(last[2].replace(/,/g, '')) - Number(firstIn[2].replace(/,/g, ''))) / (Number(last[1]) - Number(firstIn[1])) : 0
      rates.push(rate)
      process.stderr.write(`mqtt run ${r + 1}: ${fmt(rate)} msg/s from the progress lines; all ${fmt(MESSAGES)} in ${((doneAt - t) / 1000).toFixed(1)} s from the process start; load ${loadavg()[0].toFixed(1)}\n`)
    }
  } finally {
    await broker.stop()
  }
  console.log(`| mqtt QoS 1, mosquitto defaults (inflight 20), ${fmt(MESSAGES)} queued -> keyed 10 s tumbling windows, state on | **${fmt(median(rates))} msg/s** median into the input log | ${rates.map(fmt).join('; ')} |`)
}

console.error(`${machineLine()}`)
console.log('| case | result | runs |\n|---|---|---|')
if (want('checkpoint')) await checkpointCase()
if (want('csv')) await csvCase()
if (want('mqtt')) await mqttCase()
rmSync(work, {recursive: true, force: true})
process.exit(0)
