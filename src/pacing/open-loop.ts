import {ratePlan, type RatePlan, type RateProfile} from './load-profile.js'

/**
 * Pacing for one publisher: the open model (OpenLoopScheduler) and the closed one (WindowedSender).
 *
 * The open model never waits for the system under test. The scheduler only answers "which messages are due now";
 * the caller sends them stamped with their intended times (intendedAt), so latency is measured from when a
 * message should have left, not from when a backed-up client got round to it (no coordinated omission, as wrk2).
 * A message that could not leave within `maxLagMs` of its intended time is not sent at all: it is counted as
 * dropped (k6's dropped_iterations), so a client that falls behind sends less and says so, instead of bursting
 * to catch up or quietly stretching the schedule.
 *
 * Driving it: call due() and send the range; then wake at nextDueAt(). At rates above ~1000/s per publisher the
 * next message is due within a timer's resolution, so loop on setImmediate and send a batch per turn; below, arm a
 * timer for nextDueAt() − now.
 */

export interface OpenLoopOptions {
  /** The clock, ms, monotonic (e.g. performance.now). Injected so tests drive time. */
  now: () => number
  /** Clock reading at which the plan's time 0 falls; default: now() when the scheduler is built. */
  startMs?: number
  /** At most this many messages per due() call, so one turn of the event loop stays short. Default 1024. */
  maxBatch?: number
  /** A message later than this when it could be sent is dropped. Default 1000 ms; Infinity never drops. */
  maxLagMs?: number
  /**
   * A message counts as late when it leaves more than one planned interval after its intended time and, in
   * addition, more than this many ms. Default 0 (one interval). At high rates a publisher sends a batch per turn
   * of the event loop, so most messages of a batch are "one interval late" by a few µs; a tolerance of ~1 ms keeps
   * `late` about real falling behind.
   */
  lateAfterMs?: number
}

export interface DueRange {
  /** First message index to send now; the batch is from … from + count − 1. */
  from: number
  count: number
  /** Messages dropped by this call (too late to send), to warn about the first time it happens. */
  dropped: number
}

export interface OpenLoopStats {
  /** Messages whose intended time has come (≤ the time asked about, or the finish time). */
  planned: number
  /** Handed to the caller to send. */
  taken: number
  /** Skipped because they could not leave within maxLagMs of their intended time. */
  dropped: number
  /** Taken more than one planned interval late (after this publisher's next message was already due) and past lateAfterMs. */
  late: number
  /** Due but not yet taken (or dropped): planned = taken + dropped + backlog. */
  backlog: number
  /** Worst lag of a taken message, ms from its intended time to when it was taken. */
  worstLagMs: number
}

export const DEFAULT_MAX_BATCH = 1024
export const DEFAULT_MAX_LAG_MS = 1000

export class OpenLoopScheduler {
  readonly plan: RatePlan
  readonly startMs: number
  readonly maxBatch: number
  readonly maxLagMs: number
  readonly lateAfterMs: number
  private readonly clock: () => number
  /** Index of the first message neither taken nor dropped. */
  private next = 0
  private taken = 0
  private dropped = 0
  private late = 0
  private worstLagMs = 0
  private lastNowMs = Number.NEGATIVE_INFINITY
  /** Set by finish(): the plan's count at that time, after which nothing more is due. */
  private finishedAt?: number

  constructor(profile: RateProfile, options: OpenLoopOptions) {
    this.plan = ratePlan(profile)
    this.clock = options.now
    this.startMs = options.startMs ?? options.now()
    this.maxBatch = options.maxBatch ?? DEFAULT_MAX_BATCH
    this.maxLagMs = options.maxLagMs ?? DEFAULT_MAX_LAG_MS
    this.lateAfterMs = options.lateAfterMs ?? 0
    if (!(Number.isInteger(this.maxBatch) && this.maxBatch > 0)) throw new RangeError(`maxBatch must be a whole number above 0, got ${this.maxBatch}`)
    if (!(this.maxLagMs >= 0)) throw new RangeError(`maxLagMs must be >= 0, got ${this.maxLagMs}`)
    if (!(this.lateAfterMs >= 0)) throw new RangeError(`lateAfterMs must be >= 0, got ${this.lateAfterMs}`)
  }

  /**
   * The messages to send now: first drops what is older than maxLagMs, then takes up to maxBatch of the rest
   * whose intended time has come. Send them with intendedAt(i) as their intended time.
   */
  due(nowMs: number = this.clock()): DueRange {
    // A clock read that goes backwards (it should not) must not un-plan anything.
    const now = Math.max(nowMs, this.lastNowMs)
    this.lastNowMs = now
    if (this.finishedAt !== undefined) return {from: this.next, count: 0, dropped: 0}
    const t = now - this.startMs

    // The common case on schedule is cheap: only when the oldest message still due is older than maxLagMs is the
    // plan searched for how many to drop (this runs once per publisher per turn of the loop).
    let dropped = 0
    if (this.plan.timeOf(this.next) < t - this.maxLagMs) {
      dropped = Math.max(0, this.plan.countBefore(t - this.maxLagMs) - this.next)
      this.dropped += dropped
      this.next += dropped
    }

    const from = this.next
    const count = Math.max(0, Math.min(this.maxBatch, this.plan.countBy(t) - from))
    if (count > 0) {
      this.next += count
      this.taken += count
      // The oldest message of the batch has the largest lag.
      const oldestLag = t - this.plan.timeOf(from)
      this.worstLagMs = Math.max(this.worstLagMs, oldestLag)
      // Message k is late when its successor's time had already passed (k + 1 < messages due strictly before t)
      // and it is older than the tolerance (k < messages due strictly before t − lateAfterMs). Nothing in the batch
      // is late when even its oldest message is within the tolerance.
      if (oldestLag > this.lateAfterMs || this.lateAfterMs === 0) {
        const lateEnd = Math.min(this.plan.countBefore(t) - 1, this.lateAfterMs > 0 ? this.plan.countBefore(t - this.lateAfterMs) : Number.POSITIVE_INFINITY)
        this.late += Math.max(0, Math.min(from + count, lateEnd) - from)
      }
    }
    return {from, count, dropped}
  }

  /** The intended send time of message `index` on the scheduler's clock (ms); Infinity past the plan's end. */
  intendedAt(index: number): number {
    return this.startMs + this.plan.timeOf(index)
  }

  /** When the next message falls due, on the scheduler's clock: at or before now means "send again right away". */
  nextDueAt(): number {
    return this.finishedAt === undefined ? this.intendedAt(this.next) : Number.POSITIVE_INFINITY
  }

  /** True once every planned message has been taken or dropped, or after finish(). */
  get done(): boolean {
    return this.finishedAt !== undefined || this.next >= this.plan.total
  }

  /**
   * Ends the run at `nowMs` (duration reached, interrupted): what was due but never taken counts as dropped, and
   * nothing is due any more. Returns the final stats.
   */
  finish(nowMs: number = this.clock()): OpenLoopStats {
    if (this.finishedAt === undefined) {
      const planned = this.plan.countBy(Math.max(nowMs, this.lastNowMs) - this.startMs)
      this.dropped += Math.max(0, planned - this.next)
      this.next = Math.max(this.next, planned)
      this.finishedAt = planned
    }
    return this.stats()
  }

  /** Counters so far, as of `nowMs` (which only decides `planned` and `backlog`; nothing is dropped by asking). */
  stats(nowMs: number = this.clock()): OpenLoopStats {
    const planned = this.finishedAt ?? this.plan.countBy(Math.max(nowMs, this.lastNowMs) - this.startMs)
    return {
      planned,
      taken: this.taken,
      dropped: this.dropped,
      late: this.late,
      backlog: Math.max(0, planned - this.next),
      worstLagMs: this.worstLagMs,
    }
  }
}

/**
 * The closed model's pacing (`--rate max`): send while fewer than `maxInFlight` messages are un-acknowledged.
 * What "acknowledged" means is the caller's: PUBACK/PUBCOMP at QoS 1/2, a drained socket write at QoS 0.
 */
export class WindowedSender {
  private inFlightCount = 0
  private sentCount = 0
  private ackedCount = 0
  private peak = 0

  constructor(readonly maxInFlight: number) {
    if (!(Number.isInteger(maxInFlight) && maxInFlight > 0)) throw new RangeError(`maxInFlight must be a whole number above 0, got ${maxInFlight}`)
  }

  get inFlight(): number {
    return this.inFlightCount
  }

  canSend(): boolean {
    return this.inFlightCount < this.maxInFlight
  }

  /** How many may be sent now, to size a batch. */
  available(): number {
    return this.maxInFlight - this.inFlightCount
  }

  /** Records `n` messages sent; sending past the window is a bug in the caller, so it throws. */
  sent(n = 1): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`sent() takes a whole number, got ${n}`)
    if (n > this.available()) throw new RangeError(`${n} sent with only ${this.available()} of ${this.maxInFlight} free in the window`)
    this.inFlightCount += n
    this.sentCount += n
    this.peak = Math.max(this.peak, this.inFlightCount)
  }

  /** Records `n` acknowledgements; more than are in flight means an ack was counted twice, so it throws. */
  acked(n = 1): void {
    if (!(Number.isInteger(n) && n >= 0)) throw new RangeError(`acked() takes a whole number, got ${n}`)
    if (n > this.inFlightCount) throw new RangeError(`${n} acked with only ${this.inFlightCount} in flight`)
    this.inFlightCount -= n
    this.ackedCount += n
  }

  stats(): {sent: number; acked: number; inFlight: number; peakInFlight: number} {
    return {sent: this.sentCount, acked: this.ackedCount, inFlight: this.inFlightCount, peakInFlight: this.peak}
  }
}
