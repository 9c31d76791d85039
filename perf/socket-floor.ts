/**
 * The floor under `iotd sim` at high rates: the vibration-1k schedule (1,000 connections, one 100-byte QoS 0 PUBLISH
 * per connection every 10 ms) sent by the least a Node client can do: frames encoded once before the run, each
 * written to its own socket when it is due, from one thread paced by setTimeout as a fleet worker is, no payloads
 * generated. What this reaches on a machine (CPU per write, publish lag) bounds what iotd's fleet worker can reach
 * there: the worker does all of this and generates the payloads too.
 *
 *   node --import tsx perf/socket-floor.ts [--runs 3] [--devices 1000] [--every 10] [--seconds 30] [--coalesce 1]
 *
 * `--coalesce k` writes a device's messages k at a time (the first waits for the k-th to fall due): what batching per
 * socket saves, at the lag it costs.
 */
import {createConnection, type Socket} from 'node:net'
import {loadavg} from 'node:os'
import {createHistogram, recordMicros} from '../src/metrics/histogram.js'
import {startMosquitto, type Mosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessOptions} from './harness-args.js'
import {median, procCpuSeconds} from './run-figures.js'

const o = harnessOptions({runs: 3, devices: 1000, every: 10, seconds: 30, coalesce: 1})

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId)
  // MQTT 3.1.1 CONNECT: protocol name, level 4, clean session, keepalive 60 s, client id.
  const variable = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x02, 0, 60, id.length >> 8, id.length & 0xff]), id])
  return Buffer.concat([Buffer.from([0x10, variable.length]), variable])
}

function publishFrame(topic: string, payload: string): Buffer {
  const t = Buffer.from(topic)
  const p = Buffer.from(payload)
  const remaining = 2 + t.length + p.length
  if (remaining > 127) throw new Error('frame too long for this harness (one-byte remaining length)')
  return Buffer.concat([Buffer.from([0x30, remaining, t.length >> 8, t.length & 0xff]), t, p])
}

async function connectAll(m: Mosquitto, count: number): Promise<Socket[]> {
  return Promise.all(
    Array.from(
      {length: count},
      (_, i) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = createConnection({host: m.host, port: m.port, noDelay: true}, () => socket.write(connectPacket(`floor-${i}`)))
          socket.once('data', () => resolve(socket))
          socket.once('error', reject)
        }),
    ),
  )
}

async function floorRun(run: number): Promise<{p99: number; cpuUsPerMsg: number; ratio: number}> {
  const m = await startMosquitto()
  try {
    const sockets = await connectAll(m, o.devices)
    // ~100 bytes on the wire, as the vibration payloads are.
    const frames = sockets.map((_, i) => publishFrame(`perf/floor/dev-${String(i).padStart(4, '0')}`, `{"ts":1765000000000,"rms":2.51,"peak":7.43,"temp":45.1,"pad":"${'x'.repeat(28)}"}`))
    const batches = frames.map((f) => Buffer.concat(Array.from({length: o.coalesce}, () => f)))
    const before = Number(await m.readSys('broker/publish/messages/received'))
    const brokerCpu = procCpuSeconds(m.pid) ?? 0
    const lag = createHistogram()
    const cpu = process.cpuUsage()
    const t0 = performance.now() + 50
    const n = o.devices
    const phase = (i: number) => (i / n) * o.every
    // Write e carries device e % n's messages (e / n) × k … (e / n) × k + k − 1 and leaves when the last is due.
    const dueOf = (e: number, q: number) => t0 + phase(e % n) + (Math.floor(e / n) * o.coalesce + q) * o.every
    const writeAt = (e: number) => dueOf(e, o.coalesce - 1)
    let e = 0
    let written = 0
    const endAt = t0 + o.seconds * 1000
    await new Promise<void>((done) => {
      const tick = () => {
        const now = performance.now()
        for (; writeAt(e) <= now && dueOf(e, 0) < endAt; e++) {
          sockets[e % n].write(batches[e % n])
          for (let q = 0; q < o.coalesce; q++) recordMicros(lag, (now - dueOf(e, q)) * 1000)
          written += o.coalesce
        }
        if (dueOf(e, 0) >= endAt) return done()
        setTimeout(tick, Math.max(0, writeAt(e) - performance.now()))
      }
      setTimeout(tick, 50)
    })
    const used = process.cpuUsage(cpu)
    for (const s of sockets) s.end()
    const received = (await m.readSysSettled('broker/publish/messages/received')) - before
    const brokerCpuSeconds = (procCpuSeconds(m.pid) ?? 0) - brokerCpu
    const cpuUsPerMsg = (used.user + used.system) / written
    const p = (q: number) => lag.getValueAtPercentile(q) / 1000
    console.log(
      `socket-floor run ${run + 1} (load ${loadavg()[0].toFixed(1)}, ${o.devices} sockets, every ${o.every} ms, ${o.coalesce} per write): ` +
        `written ${written}, broker received ${received} (${((received / written) * 100).toFixed(2)}%), lag p50 ${p(50).toFixed(2)} ms p99 ${p(99).toFixed(2)} ms max ${p(100).toFixed(1)} ms, ` +
        `client CPU ${((used.user + used.system) / 1e6).toFixed(1)} s = ${cpuUsPerMsg.toFixed(2)} µs/msg (user ${(used.user / written).toFixed(2)}, system ${(used.system / written).toFixed(2)}), broker CPU ${brokerCpuSeconds.toFixed(1)} s`,
    )
    return {p99: p(99), cpuUsPerMsg, ratio: received / written}
  } finally {
    await m.stop()
  }
}

const results = []
for (let i = 0; i < o.runs; i++) results.push(await floorRun(i))
console.log(
  `socket-floor median: lag p99 ${median(results.map((r) => r.p99)).toFixed(2)} ms, client CPU ${median(results.map((r) => r.cpuUsPerMsg)).toFixed(2)} µs/msg, ` +
    `broker received ${(median(results.map((r) => r.ratio)) * 100).toFixed(2)}% over ${o.runs} runs`,
)
