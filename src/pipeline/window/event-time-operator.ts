/**
 * The part every time-based window kind shares: timestamp checks, the future-skew guard, the watermark, the
 * counters, and the order of work for one arrival — place the event into its windows first (lateness is judged
 * against W before this event), then let the event advance W, then fire what W has passed.
 */
import type {WindowEvent, WindowOperator, WindowOperatorOptions, WindowOutput, WindowStats} from './types.js'
import {FutureSkewGuard, Watermark} from './watermark.js'

/**
 * What became of an accepted event offered to a window kind: `held` in at least one window (its ack travels
 * with that window); `late`, every window it belongs to has fired (dropped and counted); `unwindowed`, it
 * belongs to no window at all (a gap between hopping windows), which is not lateness.
 */
export type Placement = 'held' | 'late' | 'unwindowed'

export abstract class EventTimeOperator<R, A> implements WindowOperator<R, A> {
  abstract readonly kind: string
  protected readonly wm: Watermark
  protected readonly offset: number
  private readonly skew: FutureSkewGuard | undefined
  private eventsIn = 0
  private lateDropped = 0
  private windowsFired = 0

  constructor(protected readonly options: WindowOperatorOptions<R>) {
    this.wm = new Watermark(options.lateToleranceMs ?? 0)
    this.offset = options.offsetMs ?? 0
    if (!Number.isFinite(this.offset)) throw new RangeError(`offset must be a finite number of ms, got ${this.offset}`)
    this.skew = options.futureSkew ? new FutureSkewGuard(options.futureSkew) : undefined
  }

  get watermark(): number {
    return this.wm.value
  }

  push(event: WindowEvent<R>, accepted = true, triggers = true): WindowOutput<A>[] {
    const ts = event.ts
    if (typeof ts !== 'number' || Number.isNaN(ts) || !Number.isFinite(ts)) {
      throw new RangeError(`window event time must be a finite number of ms, got ${String(ts)}`)
    }
    if (this.skew && !this.skew.admits(ts)) {
      this.options.onFutureSkew?.(event)
      return []
    }
    if (accepted) {
      this.eventsIn++
      const placement = this.place(event, triggers)
      if (placement === 'late') {
        this.lateDropped++
        this.options.onLate?.(event)
      } else if (placement === 'unwindowed' && event.ack !== undefined) {
        this.release([event.ack])
      }
    }
    return this.wm.observe(ts) || this.due() ? this.fired() : []
  }

  advanceTo(watermark: number): WindowOutput<A>[] {
    if (Number.isNaN(watermark)) throw new RangeError('watermark must be a number')
    return this.wm.advanceTo(watermark) ? this.fired() : []
  }

  end(): WindowOutput<A>[] {
    return this.wm.end() ? this.fired() : []
  }

  stats(): WindowStats {
    return {
      eventsIn: this.eventsIn,
      lateDropped: this.lateDropped,
      windowsFired: this.windowsFired,
      openWindows: this.openWindows(),
      futureRejected: this.skew?.rejected ?? 0,
    }
  }

  snapshot(): unknown {
    return {
      watermark: this.wm.save(),
      counters: [this.eventsIn, this.lateDropped, this.windowsFired, this.skew?.rejected ?? 0],
      windows: this.saveWindows(),
    }
  }

  restore(data: unknown): void {
    const d = data as {watermark: [number, number]; counters: number[]; windows: unknown}
    this.wm.load(d.watermark)
    ;[this.eventsIn, this.lateDropped, this.windowsFired] = d.counters
    if (this.skew) this.skew.rejected = d.counters[3] ?? 0
    this.restoreWindows(d.windows)
  }

  /** The kind's open windows as structured-cloneable data (see WindowOperator.snapshot). */
  protected abstract saveWindows(): unknown

  /** Rebuilds the open windows of a fresh operator from `saveWindows` data. */
  protected abstract restoreWindows(data: unknown): void

  /** Puts an accepted event into its windows, judging lateness against the current W. */
  protected abstract place(event: WindowEvent<R>, triggers: boolean): Placement

  /** Fires everything the current W has passed, in the kind's normative order. */
  protected abstract fire(): WindowOutput<A>[]

  protected abstract openWindows(): number

  /** Whether something is due although W did not move (a sliding trigger at t = W with no delay). */
  protected due(): boolean {
    return false
  }

  protected release(acks: unknown[]): void {
    if (acks.length > 0) this.options.onRelease?.(acks)
  }

  private fired(): WindowOutput<A>[] {
    const out = this.fire()
    this.windowsFired += out.length
    return out
  }
}
