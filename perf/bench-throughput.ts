/**
 * The `iotd bench` throughput harness (issue #3): runs the built CLI (bin/run.js) against a private mosquitto, as a
 * user would, and prints the client's and the broker's ($SYS) figures, median of --runs. A benchmark, not a test:
 * run it by hand and copy the table into perf/RESULTS.md with the date and machine.
 *
 *   npm run build && node --import tsx perf/bench-throughput.ts [pub-qos0] [e2e-qos0] [pub-qos1] [rate-accuracy]
 *                                                          [peer-mqttx-qos0] [peer-mqttx-qos1] [--runs 3] [--duration 10s]
 *   PUBLISHERS=30 … sets the publishing connections (default 10); E2E_RATE, ACCURACY_RATE the open-model rates.
 *
 * Side by side with MQTTX CLI's `bench pub` (peer-* cases): set MQTTX_BIN to the bin/index.js of an MQTTX CLI you
 * built yourself; this harness only runs it (MQTTX prints no summary, so its rate is the broker's count over the
 * time it ran).
 */
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseDuration} from '../src/config/units.js'
import {withMosquitto, type Mosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {meanMedian} from './run-figures.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')

interface ResultJson {
  counts: {planned: number; sent: number; acked: number | null; received: number | null; lost: number | null; dropped: number; late: number}
  rate: {targetPerSec: number | null; achievedPerSec: number; receivedPerSec: number | null}
  brokerCount: {received: number; client: number} | null
  health: {cpuPercent: number; eventLoopLagP99Ms: number}
  histograms: Record<string, {summary: {p50: number; p99: number; max: number; count: number}} | undefined>
  meta: {startedAt: string; endedAt: string; warmupMs: number}
}

interface Row {
  clientRate: number
  brokerRate: number
  receivedRate?: number
  lost?: number
  dropped: number
  cpu: number
  p50?: number
  p99?: number
  extra?: string
}

function exec(cmd: string, args: string[], timeoutMs: number, signalAfterMs?: number): Promise<{code: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {cwd: ROOT, env: {...process.env, FORCE_COLOR: '0'}, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const stop = signalAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGINT'), signalAfterMs)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${cmd} ${args.join(' ')} did not finish in ${timeoutMs} ms`))
    }, timeoutMs)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (stop) clearTimeout(stop)
      resolve({code, stdout, stderr})
    })
  })
}

async function iotdBench(broker: Mosquitto, args: string[], durationMs: number): Promise<ResultJson> {
  const r = await exec(process.execPath, [RUN, ...args, '-b', broker.url, '--json'], durationMs + 60_000)
  if (r.code !== 0 && r.code !== 99) throw new Error(`iotd ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as ResultJson
}

function measuredSec(r: ResultJson): number {
  return (Date.parse(r.meta.endedAt) - Date.parse(r.meta.startedAt) - r.meta.warmupMs) / 1000
}

/** The broker's count over the whole run (warm-up included, there is none here) per second of the run. */
function brokerRate(r: ResultJson): number {
  return r.brokerCount ? r.brokerCount.received / ((Date.parse(r.meta.endedAt) - Date.parse(r.meta.startedAt)) / 1000) : Number.NaN
}

function row(r: ResultJson, latency?: string): Row {
  const h = latency ? r.histograms[latency]?.summary : undefined
  return {
    clientRate: r.rate.achievedPerSec,
    brokerRate: brokerRate(r),
    receivedRate: r.rate.receivedPerSec ?? undefined,
    lost: r.counts.lost ?? undefined,
    dropped: r.counts.dropped,
    cpu: r.health.cpuPercent,
    p50: h?.p50,
    p99: h?.p99,
  }
}

/** Publishing connections (PUBLISHERS env, default 10): mosquitto takes more per second from more connections. */
const PUBLISHERS = process.env.PUBLISHERS ?? '10'

const CASES: Record<string, (broker: Mosquitto, durationMs: number) => Promise<Row>> = {
  /** QoS 0, 100 B, 10 connections, saturation: pre-encoded frames as fast as the sockets take them. */
  'pub-qos0': async (broker, durationMs) =>
    row(await iotdBench(broker, ['bench', 'pub', '-c', PUBLISHERS, '-q', '0', '-s', '100B', '--rate', 'max', '-d', `${durationMs}ms`], durationMs)),
  /** QoS 0 end to end into one subscriber at a fixed rate, every message's latency recorded. */
  'e2e-qos0': async (broker, durationMs) =>
    row(await iotdBench(broker, ['bench', '-c', PUBLISHERS, '--subscribers', '1', '-q', '0', '-s', '100B', '-r', process.env.E2E_RATE ?? '220000/s', '-d', `${durationMs}ms`], durationMs), 'latency'),
  /** QoS 1 publish-only with 1,024 messages in flight per connection. */
  'pub-qos1': async (broker, durationMs) =>
    row(await iotdBench(broker, ['bench', 'pub', '-c', PUBLISHERS, '-q', '1', '-s', '100B', '--rate', 'max', '--inflight', '1024', '-d', `${durationMs}ms`], durationMs), 'ack'),
  /** Open model at a rate the client sustains: achieved against target over 30 s. */
  'rate-accuracy': async (broker) => {
    const r = await iotdBench(broker, ['bench', '-c', '10', '-q', '0', '-r', process.env.ACCURACY_RATE ?? '50000/s', '-d', '30s'], 30_000)
    const out = row(r, 'latency')
    out.extra = `target ${Math.round(r.rate.targetPerSec ?? 0)}/s, achieved ${(100 * (r.rate.achievedPerSec / (r.rate.targetPerSec ?? 1))).toFixed(3)}% over ${measuredSec(r).toFixed(2)} s, planned ${r.counts.planned} sent ${r.counts.sent} dropped ${r.counts.dropped}`
    return out
  },
  'peer-mqttx-qos0': (broker, durationMs) => mqttx(broker, durationMs, 0),
  'peer-mqttx-qos1': (broker, durationMs) => mqttx(broker, durationMs, 1),
}

/**
 * MQTTX CLI's `bench pub` (QoS 0/1, 100-byte payloads, no per-message interval). It prints no summary and starts
 * slowly (several seconds loading its dependencies), so its rate is the broker's count between two $SYS readings
 * taken after all its connections are up and a 2 s settle, `durationMs` apart; then it is stopped with SIGINT.
 */
async function mqttx(broker: Mosquitto, durationMs: number, qos: 0 | 1): Promise<Row> {
  const bin = process.env.MQTTX_BIN
  if (!bin) throw new Error('set MQTTX_BIN to the bin/index.js of an MQTTX CLI build')
  const clients = process.env.MQTTX_CLIENTS ?? '10'
  const args = [bin, 'bench', 'pub', '-h', broker.host, '-p', String(broker.port), '-c', clients, '-i', '0', '-im', '0', '-t', 'peer/%i', '-q', String(qos), '-S', '100B', '-V', '3.1.1', '-v']
  const child = spawn(process.execPath, args, {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  const deadline = Date.now() + 120_000
  while (!/Created \d+ connections/.test(out)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`MQTTX did not connect: ${out.slice(-500)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  await new Promise((r) => setTimeout(r, 2000))
  const before = Number(await broker.readSys('broker/publish/messages/received'))
  const t0 = Date.now()
  await new Promise((r) => setTimeout(r, durationMs))
  const after = Number(await broker.readSys('broker/publish/messages/received'))
  const seconds = (Date.now() - t0) / 1000
  child.kill('SIGINT')
  await new Promise((r) => child.once('close', r))
  const reported = [...out.matchAll(/message rate: (\d+)\/s/g)].map((m) => Number(m[1])).slice(2)
  return {clientRate: meanMedian(reported), brokerRate: (after - before) / seconds, dropped: 0, cpu: Number.NaN, extra: `${clients} clients (MQTTX's own per-second rate as client)`}
}

const fmt = (n: number | undefined, digits = 0): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', {maximumFractionDigits: digits}))

async function main(): Promise<void> {
  const {options, named} = harnessArgs({runs: 3, duration: '10s'})
  const {runs} = options
  const durationMs = parseDuration(options.duration)
  for (const name of pickCases(named, Object.keys(CASES), ['pub-qos0', 'e2e-qos0', 'pub-qos1'])) {
    const run = CASES[name]
    const rows: Row[] = []
    for (let i = 0; i < runs; i++) {
      const r = await withMosquitto({}, (broker) => run(broker, durationMs))
      rows.push(r)
      process.stdout.write(
        `${name} run ${i + 1}: client ${fmt(r.clientRate)}/s  broker ${fmt(r.brokerRate)}/s  received ${fmt(r.receivedRate)}/s  lost ${fmt(r.lost)}  dropped ${fmt(r.dropped)}  ` +
          `cpu ${fmt(r.cpu)}%  p50 ${fmt(r.p50, 2)} ms  p99 ${fmt(r.p99, 2)} ms${r.extra ? `  ${r.extra}` : ''}\n`,
      )
    }
    process.stdout.write(
      `${name} median of ${runs}: client ${fmt(meanMedian(rows.map((r) => r.clientRate)))}/s  broker ${fmt(meanMedian(rows.map((r) => r.brokerRate)))}/s  ` +
        `received ${fmt(meanMedian(rows.map((r) => r.receivedRate ?? Number.NaN)))}/s  p99 ${fmt(meanMedian(rows.map((r) => r.p99 ?? Number.NaN)), 2)} ms\n`,
    )
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench-throughput failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
