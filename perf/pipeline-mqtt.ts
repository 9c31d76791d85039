/**
 * `iotd pipeline` MQTT republish harness (issue #4, acceptance 5): mosquitto -> `iotd pipeline run` (a child
 * process, as a user runs it) -> mosquitto. A publisher offers R msg/s (QoS 0, ~60 B JSON with its index and send
 * time); one subscriber reads the input topic (the broker's own latency) and one the pipeline's output. The
 * pipeline's added latency is per message: the same message's arrival through the pipeline minus its arrival
 * straight from the broker. Messages sent in the first --warmup seconds are left out of the latency figures (a
 * freshly started process compiles its hot path then: ~150 ms of queueing in the first second here) and shown apart.
 * Target: >= 30,000 msg/s sustained, p99 added latency < 5 ms.
 *
 *   npm run build && node --import tsx perf/pipeline-mqtt.ts [--rate 30000] [--duration 10] [--warmup 2] [--runs 3]
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {PublishReader} from '../src/net/publish-reader.js'
import {openRawConnection, subscribeRaw} from '../src/net/raw-mqtt-connection.js'
import {encodeQos0Publishes, type Qos0Message} from '../src/net/qos0-publish.js'
import {startMosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessOptions} from './harness-args.js'
import {procCpuSeconds, machineLine} from './run-figures.js'

const options = harnessOptions({rate: 30_000, duration: 10, runs: 3, warmup: 2})
const RATE = options.rate
const SECONDS = options.duration
const RUNS = options.runs
const WARMUP_SECONDS = options.warmup
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'iotd-pipe-mqtt-'))
const now = () => performance.timeOrigin + performance.now()

/** p50, p99 and max of a sample, ms. */
function quantiles(xs: number[]): [number, number, number] {
  const s = Float64Array.from(xs).sort()
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]
  return [at(0.5), at(0.99), s[s.length - 1]]
}

/** User + system CPU seconds of a process so far; 0 when it cannot be read. */
const cpuSeconds = (pid: number | undefined): number => procCpuSeconds(pid) ?? 0

interface RunFigures {
  rate: number
  outCount: number
  /** Broker only (publisher -> subscriber) p50, p99 of the measured messages, ms. */
  direct: [number, number]
  /** Through the pipeline p50, p99 of the measured messages, ms. */
  piped: [number, number]
  /** Per message, through the pipeline minus straight from the broker: p50, p99, max of the measured messages, ms. */
  added: [number, number, number]
  /** The same for the messages sent during the warm-up. */
  warmupAdded: [number, number, number]
  cpu: [number, number, number]
}

async function once(): Promise<RunFigures> {
  // Nagle off on the broker's side, as the README advises for timing work ("Watch, capture, replay"): with mosquitto's
  // default, a delivery can wait for the subscriber's delayed ACK (up to 40 ms).
  const broker = await startMosquitto({extraConfig: ['set_tcp_nodelay true']})
  const file = join(work, 'republish.yaml')
  writeFileSync(
    file,
    `version: 1
sources:
  plant: {type: mqtt, url: "${broker.url}", topics: ["perf/in/#"], qos: 0}
rules:
  - sql: SELECT d, v, t FROM plant WHERE v >= 0
    sinks: [{type: mqtt, url: "${broker.url}", topic: "perf/out/\${d}", qos: 0}]
`,
  )
  let child: ChildProcess | undefined
  try {
    child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'pipeline', 'run', file, '--quiet'], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const total = RATE * SECONDS
    // Per message index: send time, arrival straight from the broker, arrival through the pipeline (NaN: not seen).
    const sentAt = new Float64Array(total).fill(Number.NaN)
    const directAt = new Float64Array(total).fill(Number.NaN)
    const pipedAt = new Float64Array(total).fill(Number.NaN)
    let measuring = false
    let nOut = 0
    // Raw sockets (the bench's reader and a pre-encoded writer) rather than MQTT.js: at 30,000 msg/s in and 60,000
    // out, MQTT.js clients in this one process were the bottleneck (broker-only p99 of 311–447 ms).
    const port = Number(new URL(broker.url).port)
    const endpoint = {host: '127.0.0.1', port, protocolVersion: 4 as const}
    // The message index is the payload's "v" field: read it from the bytes, without parsing JSON.
    const indexOf = (buf: Buffer, at: number, len: number) => {
      const v = buf.indexOf('"v":', at, 'latin1')
      if (v < 0 || v >= at + len) return -1
      let i = 0
      for (let p = v + 4; buf[p] >= 48 && buf[p] <= 57; p++) i = i * 10 + buf[p] - 48
      return i
    }
    const subscriber = async (filter: string, arrivals: Float64Array, onArrival?: () => void) => {
      const socket = await openRawConnection({...endpoint, clientId: `perf-${filter.replace(/\W/g, '')}`})
      const reader = new PublishReader(4)
      let arrivedAt = now()
      const onPublish = (buf: Buffer, at: number, len: number) => {
        if (!measuring) return onArrival?.()
        const i = indexOf(buf, at, len)
        if (i >= 0 && i < total) arrivals[i] = arrivedAt
        onArrival?.()
      }
      await subscribeRaw(socket, reader, [{topic: filter, qos: 0}], 4, onPublish)
      socket.on('data', (chunk: Buffer) => {
        arrivedAt = now()
        reader.push(chunk, onPublish)
      })
      socket.resume()
      return socket
    }
    const subIn = await subscriber('perf/in/#', directAt)
    const subOut = await subscriber('perf/out/#', pipedAt, () => nOut++)
    const pub = await openRawConnection({...endpoint, clientId: 'perf-pub'})
    pub.resume()
    const publish = (messages: Qos0Message[]) => pub.write(encodeQos0Publishes(messages, 0, messages.length, 4))
    // Wait for the pipeline to subscribe: probe until a message comes out.
    for (let i = 0; nOut === 0 && i < 200; i++) {
      publish([{topic: 'perf/in/probe', payload: Buffer.from(JSON.stringify({d: 'probe', v: 0, t: now()})), retain: false}])
      await new Promise((ok) => setTimeout(ok, 100))
    }
    if (nOut === 0) throw new Error(`the pipeline never republished: ${stderr}`)
    await new Promise((ok) => setTimeout(ok, 300))
    nOut = 0
    measuring = true
    const cpuAtStart = {pipeline: cpuSeconds(child.pid), broker: cpuSeconds(broker.pid), harness: process.cpuUsage()}
    const started = now()
    const perMs = RATE / 1000
    let sent = 0
    while (sent < total) {
      const due = Math.min(total, Math.floor((now() - started) * perMs))
      const batch: Qos0Message[] = []
      for (; sent < due; sent++) {
        const t = now()
        sentAt[sent] = t
        batch.push({topic: `perf/in/d${sent % 100}`, payload: Buffer.from(`{"d":"d${sent % 100}","v":${sent},"t":${t}}`), retain: false})
      }
      if (batch.length > 0) publish(batch)
      await new Promise((ok) => setTimeout(ok, 1))
    }
    const sendMs = now() - started
    const cpu = {pipeline: cpuSeconds(child.pid) - cpuAtStart.pipeline, broker: cpuSeconds(broker.pid) - cpuAtStart.broker, harness: process.cpuUsage(cpuAtStart.harness)}
    const deadline = now() + 10_000
    while (nOut < total && now() < deadline) await new Promise((ok) => setTimeout(ok, 50))
    const elapsed = now() - started
    for (const s of [pub, subIn, subOut]) s.destroy()
    const warmupEnd = started + WARMUP_SECONDS * 1000
    const figures = (from: number, to: number) => {
      const direct: number[] = []
      const piped: number[] = []
      const added: number[] = []
      for (let i = 0; i < total; i++) {
        if (!(sentAt[i] >= from && sentAt[i] < to)) continue
        if (directAt[i] === directAt[i]) direct.push(directAt[i] - sentAt[i])
        if (pipedAt[i] === pipedAt[i]) piped.push(pipedAt[i] - sentAt[i])
        if (directAt[i] === directAt[i] && pipedAt[i] === pipedAt[i]) added.push(pipedAt[i] - directAt[i])
      }
      return {direct: quantiles(direct), piped: quantiles(piped), added: quantiles(added)}
    }
    const measured = figures(warmupEnd, Number.POSITIVE_INFINITY)
    return {
      rate: (nOut * 1000) / Math.max(sendMs, elapsed - 10_000 > 0 ? sendMs : elapsed),
      outCount: nOut,
      direct: [measured.direct[0], measured.direct[1]],
      piped: [measured.piped[0], measured.piped[1]],
      added: measured.added,
      warmupAdded: figures(started, warmupEnd).added,
      // Share of one core each process used while the load was offered.
      cpu: [cpu.pipeline, cpu.broker, (cpu.harness.user + cpu.harness.system) / 1e6].map((sec) => (sec * 1000) / sendMs) as [number, number, number],
    }
  } finally {
    child?.kill('SIGINT')
    await new Promise((ok) => child?.once('exit', ok) ?? ok(undefined))
    await broker.stop()
  }
}

console.error(`${machineLine()}; offered ${RATE.toLocaleString('en-US')} msg/s for ${SECONDS} s`)
console.log(`Latency figures leave out the messages sent in the first ${WARMUP_SECONDS} s (warm-up, shown in the last column).`)
console.log('| run | offered | republished (msg/s) | lost | broker only p50 / p99 | through the pipeline p50 / p99 | added per message p50 / p99 / max | warm-up added p99 / max | CPU pipeline / mosquitto / harness |\n|---|---|---|---|---|---|---|---|---|')
const f = (x: number) => `${x.toFixed(2)} ms`
const addedP99s: number[] = []
for (let i = 0; i < RUNS; i++) {
  const r = await once()
  addedP99s.push(r.added[1])
  console.log(
    `| ${i + 1} | ${RATE.toLocaleString('en-US')}/s × ${SECONDS} s | ${Math.round(r.rate).toLocaleString('en-US')} | ${RATE * SECONDS - r.outCount} | ${f(r.direct[0])} / ${f(r.direct[1])} | ${f(r.piped[0])} / ${f(r.piped[1])} | ${r.added.map(f).join(' / ')} | ${f(r.warmupAdded[1])} / ${f(r.warmupAdded[2])} | ${r.cpu.map((c) => `${Math.round(c * 100)} %`).join(' / ')} |`,
  )
}
const sortedP99s = [...addedP99s].sort((x, y) => x - y)
console.log(`median of ${RUNS} runs: added p99 ${f(sortedP99s[Math.floor(RUNS / 2)])}`)
