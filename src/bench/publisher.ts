import type {Socket} from 'node:net'
import {recordMicros, type LatencyHistogram} from '../metrics/histogram.js'
import {benchMicrosAt, benchNowMicros, performanceMsAt} from './latency-header.js'
import {OpenLoopScheduler, type OpenLoopStats} from '../pacing/open-loop.js'
import type {MqttProtocolVersion, QoS} from '../net/mqtt-wire.js'
import {AckReader, buildPublishBatch, patchFrame, patchPacketId, type PublishFrames} from './publish-frame.js'
import {runSecondOf, type SecondCounts} from './second-counts.js'

/**
 * One publishing connection of a bench run: pre-encoded PUBLISH frames (publish-frame.ts) patched in place and
 * written in batches, paced by the open-loop scheduler (a target rate) or by an in-flight window (saturation).
 *
 * Every message carries its intended send time: in the open model the scheduler's time for that message, in
 * saturation the moment it is written (there is no schedule to fall behind). A message the publisher cannot write
 * on time (socket backpressure, a full in-flight window) stays due; past the scheduler's maxLagMs it is dropped and
 * counted, never silently skipped.
 *
 * QoS 1 and 2: packet ids go round 1..65535, each remembering its message's intended time so the PUBACK/PUBCOMP
 * latency is measured from it. At QoS 2 the PUBREL answering each PUBREC is written by this class.
 */

export interface PublisherOptions {
  /** Publisher id written into every header; unique across the whole run (shards included). */
  id: number
  topic: string
  qos: QoS
  retain: boolean
  payloadBytes: number
  protocolVersion: MqttProtocolVersion
  /** The open model's schedule; undefined in saturation. */
  scheduler?: OpenLoopScheduler
  /** Saturation: at most this many messages (its share of --messages); Infinity without a limit. */
  messageLimit: number
  /** QoS 1/2: un-acknowledged messages allowed; at QoS 0 in saturation, buffers in the socket. */
  inflight: number
  /** Frames per write (one socket.write per batch). */
  batch: number
  /** The run's common start, performance.now() ms of this thread. */
  startMs: number
  /** Messages whose intended time is before this (bench µs) are the warm-up: sent, never counted. */
  measureFromUs: number
  /** Every send, counted in the run second of its intended time (the timeline's rows). */
  sentBySecond: SecondCounts
  /** Where publish -> PUBACK/PUBCOMP latency goes (µs, from the intended time); the worker swaps it each interval. */
  ackHistogram: () => LatencyHistogram
  /** Wakes the worker's send loop when this publisher can send again (drain, ack, buffer returned). */
  wake: () => void
  onError: (message: string) => void
  /**
   * The connection to the broker was lost (not closed by the run): the caller reconnects, with backoff, and hands
   * the new socket to reconnected(). Until then the schedule goes on and what falls due is dropped, counted as
   * dropped while the broker connection was down.
   */
  onDisconnect: (publisher: BenchPublisher) => void
}

/** What a publisher counts over the measured window (warm-up excluded), plus its total for loss accounting. */
export interface PublisherCounters {
  sent: number
  acked: number
  errors: number
  /** Measured sends that fell due while the connection was down: dropped, never sent. */
  droppedDown: number
  /** Times the broker connection was lost during the run. */
  disconnects: number
}

const BUFFERS_PER_CONNECTION = 4
const MAX_PACKET_ID = 65_535

export class BenchPublisher {
  readonly counters: PublisherCounters = {sent: 0, acked: 0, errors: 0, droppedDown: 0, disconnects: 0}
  /** Every message sent, warm-up included. */
  sentTotal = 0
  private free: PublishFrames[]
  private readonly batch: number
  private waitingDrain = false
  private closed = false
  /** The connection was lost and a new one is not up yet (performance.now() ms since when), or undefined. */
  downSinceMs: number | undefined
  private seq = 0
  /** QoS 1/2: intended µs of the message waiting under each packet id; 0 = free, negative = a warm-up message. */
  private readonly inflightAt: Float64Array
  private inflightCount = 0
  private nextId = 1
  private reader = new AckReader()
  private warmupBaseline?: OpenLoopStats
  /** QoS 1/2: since when (performance.now() ms) the in-flight window has been full, if it is. */
  private windowFullSinceMs: number | undefined
  /** QoS 1/2: time the in-flight window was full, ms: the broker holding back acknowledgements (back-pressure). */
  private windowFullTotalMs = 0

  constructor(
    public socket: Socket,
    private readonly o: PublisherOptions,
  ) {
    this.batch = Math.max(1, Math.min(o.batch, o.qos > 0 ? o.inflight : o.batch))
    this.free = this.buffers()
    this.inflightAt = new Float64Array(o.qos > 0 ? MAX_PACKET_ID + 1 : 0)
    this.attach(socket)
  }

  get id(): number {
    return this.o.id
  }

  private buffers(): PublishFrames[] {
    const o = this.o
    return Array.from({length: BUFFERS_PER_CONNECTION}, () =>
      buildPublishBatch({topic: o.topic, qos: o.qos, retain: o.retain, payloadBytes: o.payloadBytes, protocolVersion: o.protocolVersion, publisher: o.id}, this.batch),
    )
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) this.onData(chunk)
    })
    // An error is followed by 'close', which says the connection is lost (once); the error names why.
    socket.on('error', (err) => {
      if (socket === this.socket && !this.closed) this.lastErrorText = err.message
    })
    socket.on('close', () => {
      if (socket !== this.socket || this.closed || this.downSinceMs !== undefined) return
      this.lost()
    })
    socket.resume()
  }

  private lastErrorText: string | undefined

  /** The broker connection is gone: nothing is in flight on it any more, and the caller reconnects. */
  private lost(): void {
    this.downSinceMs = performance.now()
    this.counters.disconnects++
    const why = this.lastErrorText ?? 'the broker closed the connection'
    this.lastErrorText = undefined
    this.fail(`publisher ${this.o.id}: lost the broker connection (${why}); its sends are dropped until it reconnects`)
    // Messages waiting for their PUBACK/PUBCOMP on the lost connection will never have one.
    this.inflightAt.fill(0)
    this.inflightCount = 0
    if (this.windowFullSinceMs !== undefined) {
      this.windowFullTotalMs += performance.now() - this.windowFullSinceMs
      this.windowFullSinceMs = undefined
    }
    this.o.onDisconnect(this)
  }

  /** A new connection after a loss: sending resumes with what falls due from now. */
  reconnected(socket: Socket): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    this.socket = socket
    this.downSinceMs = undefined
    this.waitingDrain = false
    this.free = this.buffers()
    // A packet cut off by the lost connection must not be completed by the new one's bytes.
    this.reader = new AckReader()
    this.attach(socket)
    this.o.wake()
  }

  get done(): boolean {
    if (this.closed) return true
    return this.o.scheduler ? this.o.scheduler.done : this.sentTotal >= this.o.messageLimit
  }

  /** Worst lag of a sent message behind its intended time, ms (0 in saturation). */
  get worstLagMs(): number {
    return this.o.scheduler?.stats().worstLagMs ?? 0
  }

  get inflight(): number {
    return this.inflightCount
  }

  /** The window has no room for another batch: nothing leaves until the broker acknowledges. */
  private windowFull(): boolean {
    return this.o.qos > 0 && this.o.inflight - this.inflightCount < this.batch
  }

  /** Time the in-flight window has been full so far, ms (QoS 1/2; 0 at QoS 0). */
  windowFullMs(nowMs: number): number {
    return this.windowFullTotalMs + (this.windowFullSinceMs === undefined ? 0 : nowMs - this.windowFullSinceMs)
  }

  /** Whether anything stops this publisher from writing right now. */
  private blocked(): boolean {
    return this.closed || this.downSinceMs !== undefined || this.waitingDrain || this.free.length === 0 || (this.o.qos > 0 && this.o.inflight - this.inflightCount < this.batch)
  }

  /**
   * Sends what is due at `nowMs` (performance.now()) as far as buffers, the socket and the window allow. Returns
   * when this publisher next needs the loop: a time (ms, performance.now()), or Infinity when it waits for an event
   * (drain, ack) that will call wake().
   */
  pump(nowMs: number): number {
    // A timer may fire a little before the common start: nothing leaves before it (it would count as warm-up).
    if (nowMs < this.o.startMs) return this.o.startMs
    const scheduler = this.o.scheduler
    if (this.downSinceMs !== undefined && !this.closed) {
      // The schedule does not wait for the broker: what falls due while the connection is down is dropped.
      if (!scheduler) return Number.POSITIVE_INFINITY
      this.dropDueWhileDown(scheduler, nowMs)
      return scheduler.nextDueAt()
    }
    while (!this.blocked()) {
      if (scheduler) {
        const range = scheduler.due(nowMs)
        if (range.count === 0) return scheduler.nextDueAt()
        this.send(range.from, range.count, nowMs)
      } else {
        const count = Math.min(this.batch, this.o.messageLimit - this.sentTotal)
        if (count <= 0) return Number.POSITIVE_INFINITY
        this.send(-1, count, nowMs)
      }
    }
    // Blocked: a callback wakes the loop. Unless only the schedule is ahead, which the caller handles.
    if (this.windowFull() && this.windowFullSinceMs === undefined) this.windowFullSinceMs = nowMs
    return Number.POSITIVE_INFINITY
  }

  /**
   * The connection is down: everything due by `nowMs` is dropped and counted as dropped while down. Those the
   * scheduler hands out are added to its drops (downTaken); those it drops itself for being past maxLagMs already are.
   */
  private dropDueWhileDown(scheduler: OpenLoopScheduler, nowMs: number): void {
    const measuredFrom = scheduler.plan.countBefore(performanceMsAt(this.o.measureFromUs) - scheduler.startMs)
    const measured = (from: number, to: number): number => Math.max(0, to - Math.max(from, measuredFrom))
    for (let range = scheduler.due(nowMs); range.count > 0 || range.dropped > 0; range = scheduler.due(nowMs)) {
      const taken = measured(range.from, range.from + range.count)
      this.downTaken += taken
      this.counters.droppedDown += taken + measured(range.from - range.dropped, range.from)
      if (range.count === 0) break
    }
  }

  /** Of counters.droppedDown: the sends taken from the scheduler and dropped here (not in the scheduler's drops). */
  private downTaken = 0

  /** Writes `count` messages: scheduled indexes from `from`, or (from = -1) saturation messages sent now. */
  private send(from: number, count: number, nowMs: number): void {
    const frames = this.free.pop() as PublishFrames
    const scheduler = this.o.scheduler
    const sentUs = benchMicrosAt(nowMs)
    const qos = this.o.qos
    for (let k = 0; k < count; k++) {
      const start = k * frames.frameBytes
      // Whole µs, as the header carries them, so sender and receiver agree on which side of the warm-up it is.
      const intendedUs = Math.floor(from < 0 || !scheduler ? sentUs : benchMicrosAt(scheduler.intendedAt(from + k)))
      patchFrame(frames, start, this.seq++, intendedUs, sentUs)
      this.o.sentBySecond.add(runSecondOf(intendedUs, this.o.measureFromUs))
      const measured = intendedUs >= this.o.measureFromUs
      if (measured) this.counters.sent++
      if (qos === 0) continue
      let id = this.nextId
      // The window is at most 65,535 wide, so a free id is always found; usually the next one is.
      while (this.inflightAt[id] !== 0) id = id === MAX_PACKET_ID ? 1 : id + 1
      this.nextId = id === MAX_PACKET_ID ? 1 : id + 1
      this.inflightAt[id] = measured ? intendedUs : -intendedUs || -1
      this.inflightCount++
      patchPacketId(frames, start, id)
    }
    this.sentTotal += count
    const bytes = count === frames.count ? frames.buffer : frames.buffer.subarray(0, count * frames.frameBytes)
    const ok = this.socket.write(bytes, () => {
      // Wake the loop only for a publisher that was waiting for a buffer: a wake per write would spin the loop in
      // tiny batches (a write each), which costs more than the messages.
      const waited = this.free.length === 0
      this.free.push(frames)
      if (waited) this.o.wake()
    })
    if (!ok) {
      this.waitingDrain = true
      this.socket.once('drain', () => {
        this.waitingDrain = false
        this.o.wake()
      })
    }
  }

  private readonly pubrel = Buffer.from([0x62, 0x02, 0, 0])

  private onData(chunk: Buffer): void {
    const nowUs = benchNowMicros()
    const wasBlocked = this.blocked()
    try {
      this.reader.push(
        chunk,
        (type, packetId, reasonCode) => {
          if (type === 'pubrec') {
            if (reasonCode >= 0x80) return this.settle(packetId, nowUs, reasonCode)
            this.pubrel.writeUInt16BE(packetId, 2)
            this.socket.write(Buffer.from(this.pubrel))
            return
          }
          if ((type === 'puback' && this.o.qos === 1) || (type === 'pubcomp' && this.o.qos === 2)) {
            this.settle(packetId, nowUs, reasonCode)
            return
          }
          this.fail(`publisher ${this.o.id}: unexpected ${type.toUpperCase()} for packet id ${packetId}`)
        },
        (firstByte) => {
          // PINGRESP (0xd0) is expected when keepalive is on; a DISCONNECT or anything else is not.
          if (firstByte !== 0xd0) this.fail(`publisher ${this.o.id}: unexpected packet 0x${firstByte.toString(16)} from the broker`)
        },
      )
    } catch (err) {
      this.fail(`publisher ${this.o.id}: ${(err as Error).message}`)
      this.socket.destroy()
    }
    if (this.windowFullSinceMs !== undefined && !this.windowFull()) {
      this.windowFullTotalMs += performance.now() - this.windowFullSinceMs
      this.windowFullSinceMs = undefined
    }
    // Acknowledgements that reopened a full window let the publisher send again.
    if (wasBlocked && !this.blocked()) this.o.wake()
  }

  private settle(packetId: number, nowUs: number, reasonCode: number): void {
    const intendedUs = this.inflightAt[packetId]
    if (intendedUs === 0) {
      this.fail(`publisher ${this.o.id}: acknowledgement for packet id ${packetId}, which is not in flight`)
      return
    }
    this.inflightAt[packetId] = 0
    this.inflightCount--
    if (intendedUs < 0) return
    if (reasonCode >= 0x80) {
      this.fail(`publisher ${this.o.id}: the broker refused a message (reason 0x${reasonCode.toString(16)})`)
      return
    }
    this.counters.acked++
    recordMicros(this.o.ackHistogram(), nowUs - intendedUs)
  }

  private fail(message: string): void {
    this.counters.errors++
    this.o.onError(message)
  }

  /** Marks the start of the measured window for the scheduler's counters (dropped, late, planned). */
  markWarmupEnd(nowMs: number): void {
    this.warmupBaseline = this.o.scheduler?.stats(nowMs)
  }

  /** The scheduler's counters over the measured window (zeros in saturation). */
  scheduleStats(nowMs: number, finish = false): {planned: number; dropped: number; late: number} {
    const s = this.o.scheduler
    if (!s) return {planned: this.counters.sent, dropped: 0, late: 0}
    // What fell due since a down publisher's last turn was dropped because the connection was down, not for its pace.
    if (finish && this.downSinceMs !== undefined && !this.closed) this.dropDueWhileDown(s, nowMs)
    const now = finish ? s.finish(nowMs) : s.stats(nowMs)
    const base = this.warmupBaseline ?? {planned: 0, dropped: 0, late: 0}
    // Planned is exact from the plan (the messages intended at or after the warm-up's end); dropped and late
    // are counted from when the warm-up timer fired, a millisecond or so either side.
    const warmupPlanned = this.warmupBaseline ? s.plan.countBefore(performanceMsAt(this.o.measureFromUs) - s.startMs) : 0
    // Sends that fell due while the connection was down were taken from the scheduler and dropped here.
    return {planned: Math.max(0, now.planned - warmupPlanned), dropped: now.dropped - base.dropped + this.downTaken, late: now.late - base.late}
  }

  /** True when everything written has left the socket and, at QoS 1/2, been acknowledged. */
  get settled(): boolean {
    return this.closed || this.downSinceMs !== undefined || (this.socket.writableLength === 0 && this.inflightCount === 0)
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }
}
