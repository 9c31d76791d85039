/**
 * How fast can iotd's bench path publish? Pre-encoded PUBLISH frames (src/bench/publish-frame.ts; QoS 0, or 1
 * with --qos 1), the latency header patched in place (sequence and send time), written in batches to raw TCP
 * sockets with backpressure honoured, into a private mosquitto. Publish-only: nobody subscribes. A benchmark, not a
 * test: run it by hand; copy figures into perf/RESULTS.md with the date and machine once they are meant to stand.
 *
 *   node --import tsx perf/publish-frames.ts [--connections 10] [--duration 10s] [--size 100B] [--batch 128]
 *                                            [--pool 4] [--protocol 4|5] [--runs 3] [--verify] [--qos 0|1] [--window 1024]
 *
 * Each run starts its own mosquitto (test/helpers/mosquitto-process.ts), connects N sockets (openRawConnection:
 * CONNECT built with mqtt-packet, CONNACK checked), writes for the duration, waits for the sockets to flush, and reads the broker's
 * `$SYS/broker/publish/messages/received` before and ~2.5 s after (the value is republished every second and can
 * be one interval stale). Client rate = messages handed to socket.write / sending time; broker rate = broker's
 * count delta / the same time. The broker keeps working through what sits in the socket buffers when sending
 * stops, so its count is read after the flush.
 *
 * --qos 1 keeps at most --window PUBLISHes per connection awaiting PUBACK (read with AckReader) and only writes a
 * batch when the whole batch fits in the window.
 *
 * --verify adds one raw-socket subscriber on `bench/#` (PublishReader: headers read in place, nothing allocated per
 * message) that reads every latency header and classifies each
 * sequence (src/bench/latency-header.ts): it proves the in-place patching sends every number once and in order
 * (no duplicates, no reordering; QoS 0 loss to a subscriber that cannot keep up is possible and counted). It also
 * loads the broker, so its rates are end-to-end figures, not publish-only ones.
 *
 * Why a pool of batch buffers per connection: a buffer handed to socket.write may still be queued inside the
 * socket; patching it again before its write callback fires would rewrite bytes not yet sent. A batch goes back
 * to its connection's free list from the write callback.
 */
import type {Socket} from 'node:net'
import {benchNowMicros, PublisherSequences, readHeaderInto, type LatencyHeader} from '../src/bench/latency-header.js'
import type {MqttProtocolVersion} from '../src/net/mqtt-wire.js'
import {AckReader, buildPublishBatch, patchFrame, patchPacketId, type PublishFrames} from '../src/bench/publish-frame.js'
import {PublishReader} from '../src/net/publish-reader.js'
import {openRawConnection, subscribeRaw} from '../src/net/raw-mqtt-connection.js'
import {parseDuration, parseSize} from '../src/config/units.js'
import {startMosquitto, type Mosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessOptions} from './harness-args.js'
import {meanMedian} from './run-figures.js'
import {procCpuSeconds} from './run-figures.js'

interface Settings {
  connections: number
  durationMs: number
  payloadBytes: number
  batch: number
  pool: number
  protocolVersion: MqttProtocolVersion
  runs: number
  verify: boolean
  qos: 0 | 1
  /** QoS 1: PUBLISHes in flight per connection (awaiting PUBACK). */
  window: number
}

interface RunResult {
  clientSent: number
  /** PUBACKs received (QoS 1). */
  clientAcked: number
  sendMs: number
  flushMs: number
  brokerReceived: number
  clientCpuPercent: number
  brokerCpuPercent: number
  errors: string[]
  verification?: Verification
}

interface Verification {
  received: number
  notOurs: number
  duplicates: number
  outOfOrder: number
  lost: number
  maxLatencyMs: number
}

function readSettings(): Settings {
  const values = harnessOptions({connections: 10, duration: '10s', size: '100B', batch: 128, pool: 4, protocol: 4, runs: 1, verify: false, qos: 0, window: 1024})
  const int = (name: string, n: number, min: number): number => {
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}: ${n}`)
    return n
  }
  const protocolVersion = int('protocol', values.protocol, 4)
  if (protocolVersion !== 4 && protocolVersion !== 5) throw new Error('--protocol must be 4 (3.1.1) or 5')
  const qos = int('qos', values.qos, 0)
  if (qos > 1) throw new Error('--qos must be 0 or 1')
  const batch = int('batch', values.batch, 1)
  const window = qos === 1 ? int('window', values.window, batch) : Infinity
  if (qos === 1 && window > 32_768) throw new Error('--window must be at most 32768 (packet ids are reused round-robin)')
  return {
    qos: qos as 0 | 1,
    window,
    connections: int('connections', values.connections, 1),
    durationMs: parseDuration(values.duration),
    payloadBytes: parseSize(values.size),
    batch,
    pool: int('pool', values.pool, 1),
    protocolVersion,
    runs: int('runs', values.runs, 1),
    verify: values.verify,
  }
}

/** A connection that has completed CONNECT/CONNACK (src/net/raw-mqtt-connection.ts), left paused until its reader is attached. */
function connectMqtt(broker: Mosquitto, clientId: string, protocolVersion: MqttProtocolVersion): Promise<Socket> {
  return openRawConnection({host: broker.host, port: broker.port, clientId, protocolVersion})
}

/**
 * A subscriber on bench/# that checks every header; `finish()` stops it and returns what it saw. It reads with
 * PublishReader and reads the header in place (no packet object, no payload copy per message).
 */
async function startVerifier(broker: Mosquitto, protocolVersion: MqttProtocolVersion): Promise<{finish(): Verification}> {
  const socket = await connectMqtt(broker, `iotd-perf-verify-${process.pid}`, protocolVersion)
  const reader = new PublishReader(protocolVersion)
  const sequences = new PublisherSequences()
  const header: LatencyHeader = {publisher: 0, seq: 0, intendedUs: 0, sentUs: 0}
  let notOurs = 0
  let maxLatencyUs = 0
  const onPublish = (buf: Buffer, payloadOffset: number): void => {
    if (!readHeaderInto(buf, payloadOffset, header)) {
      notOurs++
      return
    }
    const latencyUs = benchNowMicros() - header.intendedUs
    if (latencyUs > maxLatencyUs) maxLatencyUs = latencyUs
    sequences.record(header.publisher, header.seq)
  }
  await subscribeRaw(socket, reader, [{topic: 'bench/#', qos: 0}], protocolVersion, onPublish)
  socket.on('data', (chunk: Buffer) => reader.push(chunk, onPublish))
  socket.resume()
  return {
    finish() {
      socket.destroy()
      const t = sequences.totals()
      return {received: t.received, notOurs, duplicates: t.duplicates, outOfOrder: t.outOfOrder, lost: t.lost, maxLatencyMs: maxLatencyUs / 1000}
    },
  }
}

interface Publisher {
  socket: Socket
  free: PublishFrames[]
  seq: number
  sent: number
  waitingDrain: boolean
  scheduled: boolean
  /** QoS 1: packet ids awaiting PUBACK (1 = in flight), how many, and the next id to hand out. */
  inFlightIds: Uint8Array
  inFlight: number
  acked: number
  nextId: number
}

async function runOnce(s: Settings): Promise<RunResult> {
  const broker = await startMosquitto()
  const errors: string[] = []
  let running = false
  try {
    const publishers: Publisher[] = []
    for (let i = 0; i < s.connections; i++) {
      const socket = await connectMqtt(broker, `iotd-perf-frames-${process.pid}-${i}`, s.protocolVersion)
      const free = Array.from({length: s.pool}, () =>
        buildPublishBatch({topic: `bench/${i}`, qos: s.qos, payloadBytes: s.payloadBytes, protocolVersion: s.protocolVersion, publisher: i}, s.batch),
      )
      const p: Publisher = {socket, free, seq: 0, sent: 0, waitingDrain: false, scheduled: false, inFlightIds: new Uint8Array(65_536), inFlight: 0, acked: 0, nextId: 1}
      // Nothing but PUBACKs should come back (nothing at all at QoS 0); the stream is read and checked anyway.
      const reader = new AckReader()
      const onAck = (type: string, packetId: number, reasonCode: number): void => {
        if (type !== 'puback' || p.inFlightIds[packetId] !== 1) {
          errors.push(`publisher ${i}: unexpected ${type} for packet id ${packetId}`)
          return
        }
        if (reasonCode >= 0x80) errors.push(`publisher ${i}: PUBACK reason 0x${reasonCode.toString(16)}`)
        p.inFlightIds[packetId] = 0
        p.inFlight--
        p.acked++
        schedule(p)
      }
      socket.on('data', (chunk: Buffer) => reader.push(chunk, onAck, (first) => errors.push(`unexpected packet 0x${first.toString(16)}`)))
      socket.resume()
      socket.on('error', (err) => errors.push(`publisher ${i}: ${err.message}`))
      socket.on('close', () => {
        if (running) errors.push(`publisher ${i}: connection closed during the run`)
      })
      publishers.push(p)
    }

    const maxWritesPerTurn = s.pool
    const schedule = (p: Publisher): void => {
      if (p.scheduled || !running) return
      p.scheduled = true
      setImmediate(() => {
        p.scheduled = false
        pump(p)
      })
    }
    const pump = (p: Publisher): void => {
      let writes = 0
      while (running && !p.waitingDrain && p.free.length > 0 && writes < maxWritesPerTurn && p.inFlight + s.batch <= s.window) {
        const batch = p.free.pop() as PublishFrames
        // One clock read per batch: at saturation there is no schedule, so intended = actual send time.
        const now = benchNowMicros()
        for (let f = 0; f < batch.count; f++) {
          const start = f * batch.frameBytes
          patchFrame(batch, start, p.seq++, now, now)
          if (s.qos === 0) continue
          // Ids go round 1..65535; the window (<= 32,768) keeps an id's previous use acknowledged long before reuse.
          const id = p.nextId
          p.nextId = id === 65_535 ? 1 : id + 1
          if (p.inFlightIds[id] === 1) errors.push(`packet id ${id} reused while in flight`)
          p.inFlightIds[id] = 1
          patchPacketId(batch, start, id)
        }
        if (s.qos === 1) p.inFlight += batch.count
        p.sent += batch.count
        writes++
        const ok = p.socket.write(batch.buffer, () => {
          p.free.push(batch)
          schedule(p)
        })
        if (!ok) {
          p.waitingDrain = true
          p.socket.once('drain', () => {
            p.waitingDrain = false
            schedule(p)
          })
        }
      }
      if (!p.waitingDrain && p.free.length > 0) schedule(p)
    }

    const verifier = s.verify ? await startVerifier(broker, s.protocolVersion) : undefined
    const before = Number(await broker.readSys('broker/publish/messages/received'))
    const brokerCpu0 = procCpuSeconds(broker.pid)
    const cpu0 = process.cpuUsage()
    const t0 = performance.now()
    running = true
    for (const p of publishers) pump(p)
    await new Promise((r) => setTimeout(r, s.durationMs))
    running = false
    const sendMs = performance.now() - t0
    const cpu = process.cpuUsage(cpu0)
    const brokerCpu1 = procCpuSeconds(broker.pid)
    // Everything handed to write() must reach the broker before its count means anything.
    const flushDeadline = performance.now() + 10_000
    while (publishers.some((p) => p.socket.writableLength > 0 || p.inFlight > 0) && performance.now() < flushDeadline) {
      await new Promise((r) => setTimeout(r, 10))
    }
    const flushMs = performance.now() - t0 - sendMs
    const after = await broker.readSysSettled('broker/publish/messages/received')
    for (const p of publishers) p.socket.destroy()
    const verification = verifier?.finish()
    return {
      verification,
      clientSent: publishers.reduce((n, p) => n + p.sent, 0),
      clientAcked: publishers.reduce((n, p) => n + p.acked, 0),
      sendMs,
      flushMs,
      brokerReceived: after - before,
      clientCpuPercent: ((cpu.user + cpu.system) / 1000 / sendMs) * 100,
      brokerCpuPercent: brokerCpu0 !== undefined && brokerCpu1 !== undefined ? ((brokerCpu1 - brokerCpu0) * 1000 * 100) / sendMs : NaN,
      errors,
    }
  } finally {
    await broker.stop()
  }
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

async function main(): Promise<void> {
  const s = readSettings()
  process.stderr.write(
    `publish-frames: ${s.connections} connections, ${s.durationMs / 1000} s, QoS ${s.qos}${s.qos ? ` (window ${s.window})` : ''}, ${s.payloadBytes} B payload, ` +
      `MQTT ${s.protocolVersion === 5 ? '5' : '3.1.1'}, ${s.batch} frames per write, ${s.pool} buffers per connection, ${s.runs} run(s)\n`,
  )
  const results: RunResult[] = []
  for (let run = 1; run <= s.runs; run++) {
    const r = await runOnce(s)
    results.push(r)
    const clientRate = (r.clientSent / r.sendMs) * 1000
    const brokerRate = (r.brokerReceived / r.sendMs) * 1000
    process.stdout.write(
      `run ${run}: client ${fmt(clientRate)} msg/s (${fmt(r.clientSent)} sent${s.qos ? `, ${fmt(r.clientAcked)} acked` : ''}), broker ${fmt(brokerRate)} msg/s ` +
        `(${fmt(r.brokerReceived)} counted, ${((r.brokerReceived / r.clientSent) * 100).toFixed(2)}% of sent), ` +
        `flush ${Math.round(r.flushMs)} ms, CPU client ${r.clientCpuPercent.toFixed(0)}% broker ${r.brokerCpuPercent.toFixed(0)}% of a core` +
        `${r.errors.length ? `, ${r.errors.length} errors: ${r.errors.slice(0, 3).join('; ')}` : ''}\n`,
    )
    const v = r.verification
    if (v) {
      process.stdout.write(
        `  verify: ${fmt(v.received)} received, ${v.duplicates} duplicates, ${v.outOfOrder} out of order, ${fmt(v.lost)} lost ` +
          `(QoS 0 to a slower subscriber), ${v.notOurs} without a header, max latency ${v.maxLatencyMs.toFixed(1)} ms\n`,
      )
    }
  }
  if (results.length > 1) {
    process.stdout.write(
      `median of ${results.length}: client ${fmt(meanMedian(results.map((r) => (r.clientSent / r.sendMs) * 1000)))} msg/s, ` +
        `broker ${fmt(meanMedian(results.map((r) => (r.brokerReceived / r.sendMs) * 1000)))} msg/s\n`,
    )
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`publish-frames failed: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
