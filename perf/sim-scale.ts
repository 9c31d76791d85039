/**
 * The `iotd sim` scale harness: runs the built CLI (bin/run.js) against a private mosquitto, as a user would,
 * and prints the figures issue #2 asks for. A benchmark, not a test: run it by hand and copy the table into
 * perf/RESULTS.md with the date and machine.
 *
 *   npm run build && node --import tsx perf/sim-scale.ts [connect-5k] [idle-memory] [steady-10k] [source-18k] [over-limit] [help] [--runs 3]
 *   npm run build && node --import tsx perf/sim-scale.ts issue-14 --runs 3     # the three figures of issue #14
 *
 * Every run of `iotd sim` here goes through /usr/bin/time when it is installed, so the client's CPU seconds (all
 * threads) are known: CPU per message is the figure to compare on a busy machine, where wall-clock rates are not.
 *
 * Side by side with MQTTX CLI's `simulate` (cases peer-connect-5k, peer-idle-memory): set MQTTX_BIN to the
 * bin/index.js of an MQTTX CLI you built yourself; this harness only runs it.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {withMosquitto, type Mosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {median, procCpuSeconds, procRssBytes, cpuModel} from './run-figures.js'
import {runTimedCli} from './timed-cli.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')
const work = mkdtempSync(join(tmpdir(), 'iotd-perf-'))

interface SimJson {
  devices: number
  workers: number
  elapsedMs: number
  connectAllMs?: number
  totals: {published: number; dropped: number; suppressed: number; late: number; connected: number; errors: number}
  publishLag: {p50: number; p99: number; max: number; count: number}
  connectLatency: {p50: number; p99: number; max: number}
  health: {rssBytes: number; peakRssBytes: number; cpuPercent: number; eventLoopLagP99Ms: number}
  /** Added by this harness: user + system CPU seconds of the whole `iotd sim` process (/usr/bin/time). */
  cpuSeconds?: number
}


function scenario(name: string, count: number, every: string, connect: string, fields = 'v: 1', more = ''): string {
  const file = join(work, `${name}.yaml`)
  writeFileSync(
    file,
    `version: 1
name: ${name}
seed: 1
connect: {${connect}}
fleets:
  - name: dev
    count: ${count}
    topic: "perf/${name}/{deviceId}"
    every: ${every}
    jitter: 2%
    fields:
      ${fields}
${more}`,
  )
  return file
}

async function simJson(args: string[]): Promise<SimJson> {
  const r = await runTimedCli(['sim', ...args, '--json'])
  if (r.code !== 0) throw new Error(`iotd sim ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`)
  return {...(JSON.parse(r.stdout) as SimJson), cpuSeconds: r.cpuSeconds}
}

/** User + system CPU seconds a process has used so far; 0 when it cannot be read. */
const cpuSecondsOf = (pid: number): number => procCpuSeconds(pid) ?? 0

const load = () => loadavg()[0].toFixed(1)

/**
 * Issue #14 item 10: 1,000 vibration sensors at 100 msg/s each (100,000 msg/s) for 30 s, QoS 0. Delivered is
 * mosquitto's own count against the schedule the client accounts for (published + dropped + suppressed; a client
 * that falls behind counts the messages it never sent as dropped at the stop), and against the nominal schedule
 * (devices × rate × duration, which also counts the connect ramp's first fraction of a second as owed).
 */
const VIBRATION_FIELDS = `ts: {kind: timestamp, format: epoch-ms}
      rms: {kind: gaussian, mean: 2.5, stddev: 0.3, min: 0, resolution: 0.01}
      peak: {kind: gaussian, mean: 7.5, stddev: 1.2, min: 0, resolution: 0.01}
      temp: {kind: walk, mean: 45, theta: 0.05, sigma: 0.1, min: 0, max: 120, resolution: 0.1}`

/** 30 s as issue #14 asks; VIB_SECONDS=n for a shorter look (CPU per message hardly depends on it). */
const VIBRATION_SECONDS = Number(process.env.VIB_SECONDS ?? 30)

async function vibrationRun(i: number, workers?: number): Promise<{ratio: number; p99: number; cpuUsPerMsg?: number}> {
  const file = scenario('vib1k', 1000, '10ms', 'rate: 100000/s', VIBRATION_FIELDS)
  return withBroker(async (m) => {
    const before = Number(await m.readSys('broker/publish/messages/received'))
    const brokerCpu = cpuSecondsOf(m.pid)
    const s = await simJson([file, '--broker', m.url, '--duration', `${VIBRATION_SECONDS}s`, ...(workers ? ['--workers', String(workers)] : [])])
    const brokerCount = (await m.readSysSettled('broker/publish/messages/received')) - before
    const brokerCpuSeconds = cpuSecondsOf(m.pid) - brokerCpu
    const scheduled = s.totals.published + s.totals.dropped + s.totals.suppressed
    const nominal = 1000 * 100 * VIBRATION_SECONDS
    const ratio = brokerCount / scheduled
    // Per message the broker counted: on a crowded machine a worker's last interval can miss its clean stop, and the
    // client's own count with it (the summary warns), while the broker's count is whole.
    const cpuUsPerMsg = s.cpuSeconds === undefined ? undefined : (s.cpuSeconds * 1e6) / Math.max(1, brokerCount)
    console.log(
      `vibration-1k run ${i + 1} (load ${load()}, ${s.workers} worker${s.workers === 1 ? '' : 's'}): scheduled ${scheduled} (nominal ${nominal}), ` +
        `client published ${s.totals.published}, dropped ${s.totals.dropped}, broker received ${brokerCount} = ${(ratio * 100).toFixed(2)}% of scheduled ` +
        `(${((brokerCount / nominal) * 100).toFixed(2)}% of nominal), late ${s.totals.late} (${((s.totals.late / Math.max(1, s.totals.published)) * 100).toFixed(1)}%), ` +
        `lag p50 ${s.publishLag.p50.toFixed(2)} ms p99 ${s.publishLag.p99.toFixed(2)} ms max ${s.publishLag.max.toFixed(1)} ms, ` +
        `client CPU ${s.cpuSeconds?.toFixed(1) ?? '?'} s = ${cpuUsPerMsg?.toFixed(2) ?? '?'} µs/msg, broker CPU ${brokerCpuSeconds.toFixed(1)} s, ` +
        `loop p99 ${s.health.eventLoopLagP99Ms.toFixed(1)} ms`,
    )
    return {ratio, p99: s.publishLag.p99, cpuUsPerMsg}
  })
}

async function connect5kRun(i: number): Promise<number> {
  const file = scenario('connect5k', 5000, '1h', 'rate: 100000/s')
  const s = await withBroker((m) => simJson([file, '--broker', m.url, '--duration', '6s']))
  if (s.connectAllMs === undefined) throw new Error(`not every device connected: ${s.totals.connected}/${s.devices}`)
  console.log(`connect-5k run ${i + 1} (load ${load()}): all 5,000 connected in ${(s.connectAllMs / 1000).toFixed(2)} s (connect p99 ${s.connectLatency.p99.toFixed(1)} ms)`)
  return s.connectAllMs
}

/**
 * RSS per connected idle device at 10,000 (against 10), read at the end of a 15 s hold. `more` adds to the fleet
 * (e.g. a `commands:` section, so every device also holds its subscriptions).
 */
async function idleMemoryRun(i: number, label: string, more = ''): Promise<number> {
  const small = scenario(`${label}10`, 10, '1h', 'rate: 100000/s', 'v: 1', more)
  const big = scenario(`${label}10k`, 10000, '1h', 'rate: 100000/s', 'v: 1', more)
  const base = await withBroker((m) => simJson([small, '--broker', m.url, '--duration', '15s']))
  const full = await withBroker((m) => simJson([big, '--broker', m.url, '--duration', '15s']))
  if (full.totals.connected !== 10000) throw new Error(`only ${full.totals.connected} of 10,000 connected`)
  const kb = (full.health.rssBytes - base.health.rssBytes) / (10000 - 10) / 1024
  console.log(`${label} run ${i + 1} (load ${load()}): rss ${mib(base.health.rssBytes)} MiB at 10 devices, ${mib(full.health.rssBytes)} MiB at 10,000 -> ${kb.toFixed(1)} KB per device (${(full.health.rssBytes / 10000 / 1024).toFixed(1)} KB whole-process)`)
  return kb
}

/**
 * What each device of the idle-commands case subscribes to: the fleet's `commands:` section (issue #14 item 1). Kept
 * to one place so the case follows the scenario syntax.
 */
const IDLE_COMMANDS =
  process.env.IOTD_PERF_COMMANDS ??
  `    commands:
      - name: setpoint
        topic: "perf/{deviceId}/cmd/setpoint"
        set: {v: "$.value"}
        reply: {topic: "perf/{deviceId}/cmd/setpoint/ack"}
      - name: everyone
        topic: "perf/all/cmd/setpoint"
        set: {v: "$.value"}
`

/** Starts MQTTX CLI's simulate (idle: one message an hour) and resolves once it says every connection was created. */
function startMqttx(broker: Mosquitto, count: number): Promise<{pid: number; seconds: number; stop: () => void}> {
  const bin = process.env.MQTTX_BIN
  if (!bin) throw new Error('set MQTTX_BIN to the bin/index.js of an MQTTX CLI build')
  const args = ['simulate', '-sc', 'tesla', '-c', String(count), '-i', '0', '-im', '3600000', '-h', broker.host, '-p', String(broker.port), '-V', '3.1.1']
  const child = spawn(process.execPath, [bin, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
  return new Promise((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`mqttx did not connect ${count} clients in 120 s: ${out.slice(-500)}`)), 120_000)
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /Created \d+ connections in ([\d.]+)s/.exec(out)
      if (m && child.pid) {
        clearTimeout(timer)
        const pid = child.pid
        resolve({pid, seconds: Number(m[1]), stop: () => process.kill(pid, 'SIGKILL')})
      }
    })
    child.on('error', reject)
  })
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(1)
/** Every run gets a fresh broker that takes as many connections as the fleet opens. */
const withBroker = <T>(fn: (m: Mosquitto) => Promise<T>): Promise<T> => withMosquitto({maxConnections: -1}, fn)

const cases: Record<string, (runs: number) => Promise<void>> = {
  /** 5,000 devices, connect as fast as allowed; time from the run's start until every device had its CONNACK. */
  async 'connect-5k'(runs) {
    const times: number[] = []
    for (let i = 0; i < runs; i++) times.push(await connect5kRun(i))
    console.log(`connect-5k median: ${(median(times) / 1000).toFixed(2)} s over ${runs} runs`)
  },

  /** RSS per connected idle device: 10,000 idle devices against 10 idle devices, at the end of a 15 s hold. */
  async 'idle-memory'(runs) {
    const perDevice: number[] = []
    for (let i = 0; i < runs; i++) perDevice.push(await idleMemoryRun(i, 'idle-memory'))
    console.log(`idle-memory median: ${median(perDevice).toFixed(1)} KB per connected idle device over ${runs} runs`)
  },

  /** The same with every device subscribed to its commands (issue #14). */
  async 'idle-commands'(runs) {
    const perDevice: number[] = []
    for (let i = 0; i < runs; i++) perDevice.push(await idleMemoryRun(i, 'idle-commands', IDLE_COMMANDS))
    console.log(`idle-commands median: ${median(perDevice).toFixed(1)} KB per connected idle device subscribed to commands over ${runs} runs`)
  },

  /** 1,000 devices × 100 msg/s for 30 s (issue #14 item 10); VIB_WORKERS=n pins the worker count to compare. */
  async 'vibration-1k'(runs) {
    const results = []
    const workers = process.env.VIB_WORKERS ? Number(process.env.VIB_WORKERS) : undefined
    for (let i = 0; i < runs; i++) results.push(await vibrationRun(i, workers))
    const cpu = results.map((r) => r.cpuUsPerMsg).filter((x): x is number => x !== undefined)
    console.log(
      `vibration-1k median: delivered ${(median(results.map((r) => r.ratio)) * 100).toFixed(2)}% of schedule, publish lag p99 ${median(results.map((r) => r.p99)).toFixed(2)} ms` +
        `${cpu.length > 0 ? `, client CPU ${median(cpu).toFixed(2)} µs/msg` : ''} over ${runs} runs`,
    )
  },

  /** Issue #14's acceptance figures, medians of `runs`: throughput at 100,000 msg/s, idle RSS with commands, connect 5,000. */
  async 'issue-14'(runs) {
    const vib = []
    const rss = []
    const connect = []
    for (let i = 0; i < runs; i++) {
      vib.push(await vibrationRun(i))
      rss.push(await idleMemoryRun(i, 'idle-commands', IDLE_COMMANDS))
      connect.push(await connect5kRun(i))
    }
    const ratio = median(vib.map((r) => r.ratio))
    const p99 = median(vib.map((r) => r.p99))
    const kb = median(rss)
    const ms = median(connect)
    const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met')
    console.log(`issue-14 medians of ${runs} (load now ${load()}):`)
    console.log(`  1,000 devices x 100 msg/s x 30 s: delivered ${(ratio * 100).toFixed(2)}% of schedule (>= 99.5%: ${verdict(ratio >= 0.995)}), publish lag p99 ${p99.toFixed(2)} ms (<= 20 ms: ${verdict(p99 <= 20)})`)
    console.log(`  10,000 idle devices subscribed to commands: ${kb.toFixed(1)} KB RSS per device (<= 30 KB: ${verdict(kb <= 30)})`)
    console.log(`  5,000 devices connected in ${(ms / 1000).toFixed(2)} s (<= 2 s: ${verdict(ms <= 2000)})`)
  },

  /** 10,000 devices at 1 msg/s for 60 s: broker-counted delivery against the schedule, and publish lag. */
  async 'steady-10k'(runs) {
    const file = scenario('steady10k', 10000, '1s', 'rate: 20000/s', `ts: {kind: timestamp, format: epoch-ms}
      temp: {kind: walk, mean: 21, theta: 0.05, sigma: 0.2, min: -10, max: 50, resolution: 0.1}`)
    const ratios: number[] = []
    const p99s: number[] = []
    for (let i = 0; i < runs; i++) {
      await withBroker(async (m) => {
        const before = Number(await m.readSys('broker/publish/messages/received'))
        const s = await simJson([file, '--broker', m.url, '--duration', '61s'])
        const after = await m.readSysSettled('broker/publish/messages/received')
        const brokerCount = after - before
        const scheduled = s.totals.published + s.totals.dropped + s.totals.suppressed
        const ratio = brokerCount / scheduled
        ratios.push(ratio)
        p99s.push(s.publishLag.p99)
        console.log(
          `steady-10k run ${i + 1}: scheduled ${scheduled}, client published ${s.totals.published}, broker received ${brokerCount} ` +
            `(${(ratio * 100).toFixed(2)}% of scheduled), ${(brokerCount / 60).toFixed(0)} msg/s over 60 s, late ${s.totals.late}, ` +
            `lag p50 ${s.publishLag.p50.toFixed(2)} ms p99 ${s.publishLag.p99.toFixed(2)} ms max ${s.publishLag.max.toFixed(1)} ms, ` +
            `cpu ${s.health.cpuPercent.toFixed(0)}%, rss ${mib(s.health.rssBytes)} MiB, loop p99 ${s.health.eventLoopLagP99Ms.toFixed(1)} ms`,
        )
      })
    }
    console.log(`steady-10k median: delivered ${(median(ratios) * 100).toFixed(2)}% of scheduled, publish lag p99 ${median(p99s).toFixed(2)} ms over ${runs} runs`)
  },

  /** 18,000 idle devices from one process to one mosquitto, spread over two loopback source addresses. */
  async 'source-18k'(runs) {
    const file = scenario('src18k', 18000, '1h', 'rate: 100000/s')
    for (let i = 0; i < runs; i++) {
      await withBroker(async (m) => {
        const s = await simJson([file, '--broker', m.url, '--duration', '20s', '--source-ip', '127.0.0.2,127.0.0.3'])
        console.log(
          `source-18k run ${i + 1}: ${s.totals.connected} of ${s.devices} connected at the end, all connected in ` +
            `${s.connectAllMs === undefined ? 'never' : `${(s.connectAllMs / 1000).toFixed(2)} s`}, errors ${s.totals.errors}, rss ${mib(s.health.rssBytes)} MiB`,
        )
      })
    }
  },

  /** MQTTX CLI simulate, 5,000 clients with its connect interval at 0 (its fastest), against the same broker setup. */
  async 'peer-connect-5k'(runs) {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const seconds = await withBroker(async (m) => {
        const peer = await startMqttx(m, 5000)
        peer.stop()
        return peer.seconds
      })
      times.push(seconds)
      console.log(`peer-connect-5k run ${i + 1}: MQTTX CLI created 5,000 connections in ${seconds.toFixed(2)} s (its own timer, start-up excluded)`)
    }
    console.log(`peer-connect-5k median: ${median(times).toFixed(2)} s over ${runs} runs`)
  },

  /** MQTTX CLI simulate: RSS per connected idle client, 10,000 against 10, after a 15 s hold (same method as idle-memory). */
  async 'peer-idle-memory'(runs) {
    const perDevice: number[] = []
    const hold = async (count: number) =>
      withBroker(async (m) => {
        const peer = await startMqttx(m, count)
        await new Promise((r) => setTimeout(r, 15_000))
        const rss = procRssBytes(peer.pid) ?? Number.NaN
        peer.stop()
        return rss
      })
    for (let i = 0; i < runs; i++) {
      const base = await hold(10)
      const full = await hold(10000)
      const kb = (full - base) / (10000 - 10) / 1024
      perDevice.push(kb)
      console.log(`peer-idle-memory run ${i + 1}: MQTTX rss ${mib(base)} MiB at 10 clients, ${mib(full)} MiB at 10,000 -> ${kb.toFixed(1)} KB per client (${(full / 10000 / 1024).toFixed(1)} KB whole-process)`)
    }
    console.log(`peer-idle-memory median: ${median(perDevice).toFixed(1)} KB per connected idle client over ${runs} runs`)
  },

  /** A fleet larger than this machine allows: the message before anything connects. */
  async 'over-limit'() {
    const file = scenario('over', 30000, '1h', 'rate: 100000/s')
    const started = Date.now()
    const r = await runTimedCli(['sim', file, '--broker', 'mqtt://127.0.0.1:1', '--duration', '5s'])
    console.log(`over-limit: exit ${r.code} after ${Date.now() - started} ms\n${r.stderr.trim()}`)
  },

  /** `iotd --help` wall time (the manifest and lazy imports keep it short). */
  async help(runs) {
    const times: number[] = []
    for (let i = 0; i < Math.max(runs, 10); i++) {
      const t = performance.now()
      await new Promise<void>((resolve) => spawn(process.execPath, [RUN, '--help'], {stdio: 'ignore'}).on('close', () => resolve()))
      times.push(performance.now() - t)
    }
    console.log(`help: iotd --help median ${median(times).toFixed(0)} ms over ${times.length} runs (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)})`)
  },
}

const {options, named} = harnessArgs({runs: 3})
const chosen = pickCases(named, Object.keys(cases), Object.keys(cases).filter((c) => !c.startsWith('peer-') && c !== 'issue-14'))
console.log(`# iotd sim scale — ${new Date().toISOString()} — node ${process.version}, ${cpuModel()}`)
for (const name of chosen) await cases[name](options.runs)
