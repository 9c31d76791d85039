/**
 * `iotd pipeline` MQTT republish harness (issue #4, acceptance 5): mosquitto -> `iotd pipeline run` (a child
 * process, as a user runs it) -> mosquitto. A publisher offers R msg/s (QoS 0, ~60 B JSON with the send time);
 * one subscriber reads the input topic (the broker's own latency) and one the pipeline's output, so the pipeline's
 * added latency is the difference. Target: >= 30,000 msg/s sustained, p99 added latency < 5 ms.
 *
 *   npm run build && node --import tsx perf/pipeline-mqtt.ts [--rate 30000] [--duration 10] [--runs 3]
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {PublishReader} from '../src/bench/publish-reader.js'
import {openRawConnection, subscribeRaw} from '../src/net/raw-mqtt-connection.js'
import {encodeQos0Publishes, type Qos0Message} from '../src/net/qos0-publish.js'
import {startMosquitto} from '../test/helpers/mosquitto-process.js'

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const RATE = flag('rate', 30_000)
const SECONDS = flag('duration', 10)
const RUNS = flag('runs', 3)
const ROOT = fileURLToPath(new URL('..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'iotd-pipe-mqtt-'))
const now = () => performance.timeOrigin + performance.now()

function quantile(xs: Float64Array, n: number, q: number): number {
  const s = xs.slice(0, n).sort()
  return s[Math.min(n - 1, Math.floor(q * n))]
}

/** User + system CPU seconds of a process so far (Linux /proc). */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

async function once(): Promise<{rate: number; inCount: number; outCount: number; direct: [number, number]; piped: [number, number]; cpu: [number, number, number]}> {
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
    sinks: [{type: mqtt, url: "${broker.url}", topic: "perf/out/\${d}", qos: 0, batch: {count: 256, interval: 1ms}}]
`,
  )
  let child: ChildProcess | undefined
  try {
    child = spawn(process.execPath, [join(ROOT, 'bin/run.js'), 'pipeline', 'run', file, '--quiet'], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    const total = RATE * SECONDS
    const direct = new Float64Array(total)
    const piped = new Float64Array(total)
    let nIn = 0
    let nOut = 0
    // Raw sockets (the bench's reader and a pre-encoded writer) rather than MQTT.js: at 30,000 msg/s in and 60,000
    // out, MQTT.js clients in this one process were the bottleneck (broker-only p99 of 311–447 ms).
    const port = Number(new URL(broker.url).port)
    const endpoint = {host: '127.0.0.1', port, protocolVersion: 4 as const}
    // The send time is the payload's last field: read it from the bytes, without parsing JSON.
    const sentAt = (buf: Buffer, at: number, len: number) => {
      const end = at + len - 1
      const colon = buf.lastIndexOf(58, end)
      return Number(buf.toString('latin1', colon + 1, end))
    }
    const subscriber = async (filter: string, onArrival: (latencyMs: number) => void) => {
      const socket = await openRawConnection({...endpoint, clientId: `perf-${filter.replace(/\W/g, '')}`})
      const reader = new PublishReader(4)
      let arrivedAt = now()
      const onPublish = (buf: Buffer, at: number, len: number) => onArrival(arrivedAt - sentAt(buf, at, len))
      await subscribeRaw(socket, reader, [{topic: filter, qos: 0}], 4, onPublish)
      socket.on('data', (chunk: Buffer) => {
        arrivedAt = now()
        reader.push(chunk, onPublish)
      })
      socket.resume()
      return socket
    }
    const subIn = await subscriber('perf/in/#', (ms) => {
      if (nIn < total) direct[nIn++] = ms
    })
    const subOut = await subscriber('perf/out/#', (ms) => {
      if (nOut < total) piped[nOut++] = ms
    })
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
    nIn = 0
    nOut = 0
    const cpuAtStart = {pipeline: cpuSeconds(child.pid), broker: cpuSeconds(broker.pid), harness: process.cpuUsage()}
    const started = now()
    const perMs = RATE / 1000
    let sent = 0
    while (sent < total) {
      const due = Math.min(total, Math.floor((now() - started) * perMs))
      const batch: Qos0Message[] = []
      for (; sent < due; sent++) batch.push({topic: `perf/in/d${sent % 100}`, payload: Buffer.from(`{"d":"d${sent % 100}","v":${sent},"t":${now()}}`), retain: false})
      if (batch.length > 0) publish(batch)
      await new Promise((ok) => setTimeout(ok, 1))
    }
    const sendMs = now() - started
    const cpu = {pipeline: cpuSeconds(child.pid) - cpuAtStart.pipeline, broker: cpuSeconds(broker.pid) - cpuAtStart.broker, harness: process.cpuUsage(cpuAtStart.harness)}
    const deadline = now() + 10_000
    while (nOut < total && now() < deadline) await new Promise((ok) => setTimeout(ok, 50))
    const elapsed = now() - started
    for (const s of [pub, subIn, subOut]) s.destroy()
    return {
      rate: (nOut * 1000) / Math.max(sendMs, elapsed - 10_000 > 0 ? sendMs : elapsed),
      inCount: nIn,
      outCount: nOut,
      direct: [quantile(direct, nIn, 0.5), quantile(direct, nIn, 0.99)],
      piped: [quantile(piped, nOut, 0.5), quantile(piped, nOut, 0.99)],
      // Share of one core each process used while the load was offered.
      cpu: [cpu.pipeline, cpu.broker, (cpu.harness.user + cpu.harness.system) / 1e6].map((sec) => (sec * 1000) / sendMs) as [number, number, number],
    }
  } finally {
    child?.kill('SIGINT')
    await new Promise((ok) => child?.once('exit', ok) ?? ok(undefined))
    await broker.stop()
  }
}

console.error(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; offered ${RATE.toLocaleString('en-US')} msg/s for ${SECONDS} s`)
console.log('| run | offered | republished (msg/s) | lost | broker only p50 / p99 | through the pipeline p50 / p99 | added p99 | CPU pipeline / mosquitto / harness |\n|---|---|---|---|---|---|---|---|')
for (let i = 0; i < RUNS; i++) {
  const r = await once()
  const f = (x: number) => `${x.toFixed(2)} ms`
  console.log(
    `| ${i + 1} | ${RATE.toLocaleString('en-US')}/s × ${SECONDS} s | ${Math.round(r.rate).toLocaleString('en-US')} | ${RATE * SECONDS - r.outCount} | ${f(r.direct[0])} / ${f(r.direct[1])} | ${f(r.piped[0])} / ${f(r.piped[1])} | ${f(r.piped[1] - r.direct[1])} | ${r.cpu.map((c) => `${Math.round(c * 100)} %`).join(' / ')} |`,
  )
}
