/**
 * Event-time progress.
 *
 * - W starts at -Infinity. After each arriving event — also events WHERE/FILTER removes, and late ones —
 *   W = max(ts seen so far) - lateTolerance. W never decreases; lateTolerance defaults to 0.
 * - `advanceTo` raises W without an event (idle sources, processing time); `end` sets W = +Infinity when a
 *   finite source is exhausted, which flushes every open window.
 * - maxFutureSkew (default 5 minutes) guards live sources: an event whose ts is further ahead of the wall clock
 *   is rejected and counted before it can touch W, so one device with a wrong clock cannot make everyone else's
 *   data late. The clock is injected.
 */
import type {FutureSkewOptions} from './types.js'

export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60_000

export class Watermark {
  private maxTs = -Infinity
  private w = -Infinity
  private readonly tolerance: number

  constructor(lateToleranceMs = 0) {
    if (!(lateToleranceMs >= 0) || !Number.isFinite(lateToleranceMs)) {
      throw new RangeError(`lateTolerance must be a finite number of ms >= 0, got ${lateToleranceMs}`)
    }
    this.tolerance = lateToleranceMs
  }

  /** The current watermark W. */
  get value(): number {
    return this.w
  }

  /** The largest event time seen so far. */
  get maxEventTime(): number {
    return this.maxTs
  }

  /** Accounts for one arriving event; returns true when W moved forward. */
  observe(ts: number): boolean {
    if (ts <= this.maxTs) return false
    this.maxTs = ts
    return this.raise(ts - this.tolerance)
  }

  /** Raises W to `watermark` if that is later; returns true when W moved forward. */
  advanceTo(watermark: number): boolean {
    return this.raise(watermark)
  }

  /** [max event time, W] for a checkpoint. */
  save(): [number, number] {
    return [this.maxTs, this.w]
  }

  load([maxTs, w]: [number, number]): void {
    this.maxTs = maxTs
    this.w = w
  }

  /** End of input: W = +Infinity. */
  end(): boolean {
    return this.raise(Infinity)
  }

  private raise(candidate: number): boolean {
    if (!(candidate > this.w)) return false
    this.w = candidate
    return true
  }
}

/** Rejects events whose ts is more than maxFutureSkew ahead of the injected wall clock. */
export class FutureSkewGuard {
  private readonly now: () => number
  private readonly maxSkew: number
  private rejectedCount = 0

  constructor(options: FutureSkewOptions) {
    this.now = options.now
    this.maxSkew = options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS
    if (!(this.maxSkew >= 0)) throw new RangeError(`maxFutureSkew must be >= 0 ms, got ${this.maxSkew}`)
  }

  /** True if the event may enter; false (and counted) if its ts is too far in the future. */
  admits(ts: number): boolean {
    if (ts - this.now() <= this.maxSkew) return true
    this.rejectedCount++
    return false
  }

  get rejected(): number {
    return this.rejectedCount
  }

  set rejected(n: number) {
    this.rejectedCount = n
  }
}
