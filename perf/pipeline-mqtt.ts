/**
 * `iotd pipeline` MQTT republish harness (issue #4, acceptance 5): mosquitto -> `iotd pipeline run` (a child
 * process, as a user runs it) -> mosquitto. A publisher offers R msg/s (QoS 0, ~60 B JSON with the send time);
 * one subscriber reads the input topic (the broker's own latency) and one the pipeline's output, so the pipeline's
 * added latency is the difference. Target: >= 30,000 msg/s sustained, p99 added latency < 5 ms.
 *
 *   npm run build && node --import tsx perf/pipeline-mqtt.ts [--rate 30000] [--duration 10] [--runs 3]
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import mqtt from 'mqtt'
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

async function once(): Promise<{rate: number; inCount: number; outCount: number; direct: [number, number]; piped: [number, number]}> {
  const broker = await startMosquitto()
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
    const subIn = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
    const subOut = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
    // The send time is the payload's last field: read it without parsing JSON, so the measuring process stays light.
    const sentAt = (p: Buffer) => {
      const s = p.toString('latin1')
      return Number(s.slice(s.lastIndexOf(':') + 1, -1))
    }
    subIn.on('message', (_t, p) => {
      if (nIn < total) direct[nIn++] = now() - sentAt(p)
    })
    subOut.on('message', (_t, p) => {
      if (nOut < total) piped[nOut++] = now() - sentAt(p)
    })
    await subIn.subscribeAsync('perf/in/#')
    await subOut.subscribeAsync('perf/out/#')
    const pub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
    // Wait for the pipeline to subscribe: probe until a message comes out.
    for (let i = 0; nOut === 0 && i < 200; i++) {
      pub.publish('perf/in/probe', JSON.stringify({d: 'probe', v: 0, t: now()}))
      await new Promise((ok) => setTimeout(ok, 100))
    }
    if (nOut === 0) throw new Error(`the pipeline never republished: ${stderr}`)
    await new Promise((ok) => setTimeout(ok, 300))
    nIn = 0
    nOut = 0
    const started = now()
    const perTick = RATE / 1000
    let sent = 0
    while (sent < total) {
      const due = Math.min(total, Math.floor((now() - started) * perTick))
      for (; sent < due; sent++) pub.publish(`perf/in/d${sent % 100}`, `{"d":"d${sent % 100}","v":${sent},"t":${now()}}`)
      await new Promise((ok) => setTimeout(ok, 1))
    }
    const sendMs = now() - started
    const deadline = now() + 10_000
    while (nOut < total && now() < deadline) await new Promise((ok) => setTimeout(ok, 50))
    const elapsed = now() - started
    await pub.endAsync()
    await subIn.endAsync()
    await subOut.endAsync()
    return {
      rate: (nOut * 1000) / Math.max(sendMs, elapsed - 10_000 > 0 ? sendMs : elapsed),
      inCount: nIn,
      outCount: nOut,
      direct: [quantile(direct, nIn, 0.5), quantile(direct, nIn, 0.99)],
      piped: [quantile(piped, nOut, 0.5), quantile(piped, nOut, 0.99)],
    }
  } finally {
    child?.kill('SIGINT')
    await new Promise((ok) => child?.once('exit', ok) ?? ok(undefined))
    await broker.stop()
  }
}

console.error(`load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; offered ${RATE.toLocaleString('en-US')} msg/s for ${SECONDS} s`)
console.log('| run | offered | republished (msg/s) | lost | broker only p50 / p99 | through the pipeline p50 / p99 | added p99 |\n|---|---|---|---|---|---|---|')
for (let i = 0; i < RUNS; i++) {
  const r = await once()
  const f = (x: number) => `${x.toFixed(2)} ms`
  console.log(
    `| ${i + 1} | ${RATE.toLocaleString('en-US')}/s × ${SECONDS} s | ${Math.round(r.rate).toLocaleString('en-US')} | ${RATE * SECONDS - r.outCount} | ${f(r.direct[0])} / ${f(r.direct[1])} | ${f(r.piped[0])} / ${f(r.piped[1])} | ${f(r.piped[1] - r.direct[1])} |`,
  )
}
