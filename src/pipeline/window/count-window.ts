/**
 * COUNTWINDOW(n[, m]) — m defaults to n — per group key, in arrival order. Time, watermark and lateness do not
 * apply. After every m-th event of a key, if the key holds at least n events, one window of its latest n events
 * is emitted and the latest n - 1 are kept. A partial window is never emitted, not even at end of input.
 * Rows come out in completion order. window_start/window_end are the smallest and largest ts in the window.
 *
 * Which events a future window can contain is known from positions alone: the window completed at the c-th event
 * holds positions c-n+1..c, so once a check at c has passed, events at positions <= c+m-n are never needed again.
 * So a key keeps at most n rows (m < n, overlapping windows) or just an accumulator (m >= n), and every ack is
 * released as early as is exact: with the last row that contains the event, or through `onRelease` for events no
 * row will contain (m > n, and those before the first complete window).
 */
import {loadAggregate, saveAggregate, type AggregatorFactory, type WindowEvent, type WindowOperator, type WindowOperatorOptions, type WindowOutput, type WindowStats} from './types.js'
import {checkParam, defineWindowKind} from './window-kind.js'

interface CountedEvent<R> {
  pos: number
  ts: number
  row: R
  ack: unknown
}

class CountKey<R, S> {
  /** Events of this key seen so far (positions are 1-based). */
  seen = 0
  /** m < n: the events a future window may still contain, oldest first. */
  rows: CountedEvent<R>[] = []
  /** m >= n: the accumulator of the window being filled, with its ack handles and ts range. */
  state: S | null = null
  acks: unknown[] = []
  minTs = Infinity
  maxTs = -Infinity
  constructor(readonly key: string) {}
}

export class CountWindowOperator<R, A, S> implements WindowOperator<R, A> {
  readonly kind = 'count' as const
  readonly watermark = -Infinity
  private readonly keys = new Map<string, CountKey<R, S>>()
  private eventsIn = 0
  private windowsFired = 0
  private partial = 0

  constructor(
    private readonly n: number,
    private readonly m: number,
    private readonly agg: AggregatorFactory<R, A, S>,
    private readonly options: WindowOperatorOptions<R>,
  ) {}

  push(event: WindowEvent<R>, accepted = true): WindowOutput<A>[] {
    if (!accepted) return []
    this.eventsIn++
    let k = this.keys.get(event.key)
    if (k === undefined) {
      k = new CountKey<R, S>(event.key)
      this.keys.set(event.key, k)
    }
    const pos = ++k.seen
    const out = this.m >= this.n ? this.pushDisjoint(k, pos, event) : this.pushOverlapping(k, pos, event)
    if (out === null) return []
    this.windowsFired++
    return [out]
  }

  advanceTo(_watermark: number): WindowOutput<A>[] {
    return []
  }

  /** End of input: partial windows are dropped (never emitted); their acks are released. */
  end(): WindowOutput<A>[] {
    const released: unknown[] = []
    for (const k of this.keys.values()) {
      for (const e of k.rows) if (e.ack !== undefined) released.push(e.ack)
      for (const ack of k.acks) released.push(ack)
      k.rows = []
      k.acks = []
      k.state = null
    }
    this.partial = 0
    if (released.length > 0) this.options.onRelease?.(released)
    return []
  }

  stats(): WindowStats {
    return {eventsIn: this.eventsIn, lateDropped: 0, windowsFired: this.windowsFired, openWindows: this.partial, futureRejected: 0}
  }

  snapshot(): unknown {
    const agg = this.agg as AggregatorFactory<unknown, unknown, S>
    const keys = [...this.keys.values()].map((k) => [k.key, k.seen, k.rows.map((e) => [e.pos, e.ts, e.row]), k.state === null ? null : saveAggregate(agg, k.state), k.minTs, k.maxTs])
    return {keys, counters: [this.eventsIn, this.windowsFired, this.partial]}
  }

  restore(data: unknown): void {
    const agg = this.agg as AggregatorFactory<unknown, unknown, S>
    const d = data as {keys: [string, number, [number, number, R][], unknown, number, number][]; counters: number[]}
    for (const [key, seen, rows, state, minTs, maxTs] of d.keys) {
      const k = new CountKey<R, S>(key)
      k.seen = seen
      k.rows = rows.map(([pos, ts, row]) => ({pos, ts, row, ack: undefined}))
      k.state = state === null ? null : loadAggregate(agg, state)
      k.minTs = minTs
      k.maxTs = maxTs
      this.keys.set(key, k)
    }
    ;[this.eventsIn, this.windowsFired, this.partial] = d.counters
  }

  /** m >= n: windows do not overlap, so one accumulator per key suffices. */
  private pushDisjoint(k: CountKey<R, S>, pos: number, event: WindowEvent<R>): WindowOutput<A> | null {
    const check = Math.ceil(pos / this.m) * this.m
    if (pos <= check - this.n) {
      // Between windows (m > n): no window will ever contain this event.
      if (event.ack !== undefined) this.options.onRelease?.([event.ack])
      return null
    }
    if (k.state === null) {
      k.state = this.agg.create()
      this.partial++
    }
    this.agg.add(k.state, event.row)
    if (event.ack !== undefined) k.acks.push(event.ack)
    if (event.ts < k.minTs) k.minTs = event.ts
    if (event.ts > k.maxTs) k.maxTs = event.ts
    if (pos !== check) return null
    const out: WindowOutput<A> = {
      key: k.key,
      windowStart: k.minTs,
      windowEnd: k.maxTs,
      aggregates: this.agg.result(k.state),
      events: this.n,
      acks: k.acks,
    }
    k.state = null
    k.acks = []
    k.minTs = Infinity
    k.maxTs = -Infinity
    this.partial--
    return out
  }

  /** m < n: windows overlap, so the key keeps the rows a future window may contain. */
  private pushOverlapping(k: CountKey<R, S>, pos: number, event: WindowEvent<R>): WindowOutput<A> | null {
    if (k.rows.length === 0) this.partial++
    k.rows.push({pos, ts: event.ts, row: event.row, ack: event.ack})
    if (pos % this.m !== 0) return null
    let out: WindowOutput<A> | null = null
    if (pos >= this.n) {
      const state = this.agg.create()
      let minTs = Infinity
      let maxTs = -Infinity
      for (const e of k.rows) {
        // rows hold exactly positions pos-n+1..pos here: older ones were dropped at the previous check
        this.agg.add(state, e.row)
        if (e.ts < minTs) minTs = e.ts
        if (e.ts > maxTs) maxTs = e.ts
      }
      out = {key: k.key, windowStart: minTs, windowEnd: maxTs, aggregates: this.agg.result(state), events: k.rows.length, acks: []}
    }
    // The next window (at pos + m) starts at pos + m - n + 1: everything before it is done.
    const keepFrom = pos + this.m - this.n + 1
    let drop = 0
    while (drop < k.rows.length && k.rows[drop].pos < keepFrom) drop++
    const done = k.rows.splice(0, drop)
    const acks = out !== null ? out.acks : []
    for (const e of done) if (e.ack !== undefined) acks.push(e.ack)
    if (out === null && acks.length > 0) this.options.onRelease?.(acks)
    if (k.rows.length === 0) this.partial--
    return out
  }
}

export function createCountWindow<R, A, S>(
  spec: {size: number; hop?: number},
  aggregator: AggregatorFactory<R, A, S>,
  options: WindowOperatorOptions<R> = {},
): WindowOperator<R, A> {
  const hop = spec.hop ?? spec.size
  checkParam.wholePositive('count', spec.size, 'n')
  checkParam.wholePositive('count', hop, 'm')
  return new CountWindowOperator(spec.size, hop, aggregator, options)
}

export const countWindow = defineWindowKind({
  kind: 'count',
  signature: 'COUNTWINDOW(n[, m])',
  keyedUnlikeEkuiper: true,
  timed: false,
  args: [{name: 'n'}, {name: 'm', optional: true}],
  plan([size, hop = size], ctx) {
    if (hop! > size!) ctx.warn(`COUNTWINDOW(${size}, ${hop}): m > n skips ${hop! - size!} event(s) between windows`)
    return {size: size!, hop: hop!}
  },
  operator: createCountWindow,
  explain: (p) => `count ${p.size}${p.hop !== p.size ? ` every ${p.hop}` : ''}`,
})
