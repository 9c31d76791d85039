/**
 * SLIDINGWINDOW(unit, size[, delay]), per group key.
 *
 * - Every accepted event at time t that matches OVER (WHEN cond) — every accepted event without OVER — creates a
 *   trigger for its own key. The trigger fires when W >= t + delay.
 * - It aggregates that key's accepted events with t - size < ts <= t + delay (left-open: 10 s at 1 Hz holds 10
 *   samples, not 11). window_start = t - size, window_end = t + delay.
 * - An event with ts < W on arrival is late: dropped, counted, triggers nothing, never content.
 * - Rows are ordered by fire time (t + delay), then t, then arrival.
 *
 * Sliding windows need rows, not accumulators: each key keeps its accepted events sorted by ts and evicts an event
 * once no trigger can contain it any more (ts <= W - size and ts <= every pending trigger's t - size). A min-heap
 * of eviction times per key means idle keys are cleaned up without scanning every key. An evicted event's ack
 * rides with the last row that contained it if that row is fired in the same call; otherwise (its last row was
 * returned earlier, or it was never content of any row) it goes to `onRelease`.
 */
import {EventTimeOperator, type Placement} from './event-time-operator.js'
import {MinHeap} from './min-heap.js'
import type {AggregatorFactory, WindowEvent, WindowOperator, WindowOperatorOptions, WindowOutput} from './types.js'
import {checkParam, defineWindowKind, formatWindowMs} from './window-kind.js'

interface HeldEvent<R, A> {
  ts: number
  row: R
  ack: unknown
  /** The latest row this event was content of, and the fire pass that produced it. */
  lastOutput: WindowOutput<A> | null
  lastPass: number
}

class SlidingKey<R, A> {
  /** Held events sorted by ts; entries before `head` are evicted. */
  events: HeldEvent<R, A>[] = []
  head = 0
  /** The t of each pending trigger, ascending (triggers of one key fire in this order). */
  pendingT: number[] = []
  /** The eviction time queued for this key in the eviction heap, or NaN when none is queued. */
  evictQueuedAt = Number.NaN
  constructor(readonly key: string) {}

  get held(): number {
    return this.events.length - this.head
  }
}

interface Trigger<R, A> {
  fireAt: number
  t: number
  seq: number
  state: SlidingKey<R, A>
}

interface EvictionEntry<R, A> {
  at: number
  state: SlidingKey<R, A>
}

export class SlidingWindowOperator<R, A, S> extends EventTimeOperator<R, A> {
  readonly kind = 'sliding' as const
  private readonly keys = new Map<string, SlidingKey<R, A>>()
  private readonly triggers = new MinHeap<Trigger<R, A>>((a, b) =>
    a.fireAt !== b.fireAt ? a.fireAt < b.fireAt : a.t !== b.t ? a.t < b.t : a.seq < b.seq,
  )
  private readonly evictions = new MinHeap<EvictionEntry<R, A>>((a, b) => a.at < b.at)
  private seq = 0
  private pass = 0

  constructor(
    private readonly size: number,
    private readonly delay: number,
    private readonly agg: AggregatorFactory<R, A, S>,
    options: WindowOperatorOptions<R>,
  ) {
    super(options)
  }

  protected place(event: WindowEvent<R>, triggers: boolean): Placement {
    if (event.ts < this.wm.value) return 'late'
    let state = this.keys.get(event.key)
    if (state === undefined) {
      state = new SlidingKey(event.key)
      this.keys.set(event.key, state)
    }
    insertSorted(state, {ts: event.ts, row: event.row, ack: event.ack, lastOutput: null, lastPass: -1})
    if (triggers) {
      const t = event.ts
      insertNumber(state.pendingT, t)
      this.triggers.push({fireAt: t + this.delay, t, seq: this.seq++, state})
    }
    this.scheduleEviction(state)
    return 'held'
  }

  protected fire(): WindowOutput<A>[] {
    const w = this.wm.value
    const pass = ++this.pass
    const out: WindowOutput<A>[] = []
    const released: unknown[] = []
    let top = this.triggers.peek()
    while (top !== undefined && top.fireAt <= w) {
      this.triggers.pop()
      const state = top.state
      out.push(this.emit(state, top.t, pass))
      state.pendingT.shift()
      this.evict(state, pass, released)
      top = this.triggers.peek()
    }
    let due = this.evictions.peek()
    while (due !== undefined && due.at <= w) {
      this.evictions.pop()
      if (due.state.evictQueuedAt === due.at) {
        due.state.evictQueuedAt = Number.NaN
        this.evict(due.state, pass, released)
      }
      due = this.evictions.peek()
    }
    // Acks released here belong to rows returned by earlier calls (or to none), so they precede this call's rows.
    this.release(released)
    return out
  }

  protected openWindows(): number {
    return this.triggers.size
  }

  protected override due(): boolean {
    const top = this.triggers.peek()
    return top !== undefined && top.fireAt <= this.wm.value
  }

  protected saveWindows(): unknown {
    const keys: [string, [number, R][], number[]][] = []
    for (const k of this.keys.values()) {
      const events: [number, R][] = []
      for (let i = k.head; i < k.events.length; i++) events.push([k.events[i].ts, k.events[i].row])
      keys.push([k.key, events, k.pendingT])
    }
    const triggers: [string, number, number][] = []
    const pending: Trigger<R, A>[] = []
    for (let t = this.triggers.pop(); t !== undefined; t = this.triggers.pop()) pending.push(t)
    for (const t of pending) {
      this.triggers.push(t)
      triggers.push([t.state.key, t.t, t.seq])
    }
    return {keys, triggers, seq: this.seq}
  }

  protected restoreWindows(data: unknown): void {
    const d = data as {keys: [string, [number, R][], number[]][]; triggers: [string, number, number][]; seq: number}
    for (const [key, events, pendingT] of d.keys) {
      const k = new SlidingKey<R, A>(key)
      k.events = events.map(([ts, row]) => ({ts, row, ack: undefined, lastOutput: null, lastPass: -1}))
      k.pendingT = pendingT
      this.keys.set(key, k)
    }
    for (const [key, t, seq] of d.triggers) {
      const state = this.keys.get(key)
      if (state !== undefined) this.triggers.push({fireAt: t + this.delay, t, seq, state})
    }
    this.seq = d.seq
    for (const k of this.keys.values()) this.scheduleEviction(k)
  }

  private emit(state: SlidingKey<R, A>, t: number, pass: number): WindowOutput<A> {
    const windowStart = t - this.size
    const windowEnd = t + this.delay
    const events = state.events
    const from = firstAfter(events, state.head, windowStart)
    let to = from
    const aggState = this.agg.create()
    while (to < events.length && events[to].ts <= windowEnd) this.agg.add(aggState, events[to++].row)
    const out: WindowOutput<A> = {key: state.key, windowStart, windowEnd, aggregates: this.agg.result(aggState), events: to - from, acks: []}
    for (let i = from; i < to; i++) {
      events[i].lastOutput = out
      events[i].lastPass = pass
    }
    return out
  }

  /** Drops the events of one key that no pending or future trigger can contain, releasing their acks. */
  private evict(state: SlidingKey<R, A>, pass: number, released: unknown[]): void {
    const pendingMin = state.pendingT.length > 0 ? state.pendingT[0] : Infinity
    const limit = Math.min(this.wm.value, pendingMin) - this.size
    const events = state.events
    let i = state.head
    while (i < events.length && events[i].ts <= limit) {
      const e = events[i]
      if (e.ack !== undefined) {
        if (e.lastPass === pass && e.lastOutput !== null) e.lastOutput.acks.push(e.ack)
        else released.push(e.ack)
      }
      i++
    }
    state.head = i
    if (state.head === events.length) {
      state.events = []
      state.head = 0
      if (state.pendingT.length === 0) {
        state.evictQueuedAt = Number.NaN // any queued entry is now stale
        if (this.keys.get(state.key) === state) this.keys.delete(state.key)
      }
      return
    }
    // Compact once the evicted prefix dominates, keeping eviction amortised O(1).
    if (state.head > 64 && state.head * 2 > events.length) {
      state.events = events.slice(state.head)
      state.head = 0
    }
    this.scheduleEviction(state)
  }

  /** Queues the key's next eviction time; keys with pending triggers are re-examined when those fire. */
  private scheduleEviction(state: SlidingKey<R, A>): void {
    if (state.held === 0 || state.pendingT.length > 0) return
    const at = state.events[state.head].ts + this.size
    if (!(at < state.evictQueuedAt) && !Number.isNaN(state.evictQueuedAt)) return
    state.evictQueuedAt = at
    this.evictions.push({at, state})
  }
}

/** Inserts keeping ts order; arrivals are mostly in order, so this is usually an append. Equal ts keep arrival order. */
function insertSorted<R, A>(state: SlidingKey<R, A>, e: HeldEvent<R, A>): void {
  const events = state.events
  let i = events.length
  while (i > state.head && events[i - 1].ts > e.ts) i--
  if (i === events.length) events.push(e)
  else events.splice(i, 0, e)
}

function insertNumber(sorted: number[], v: number): void {
  let i = sorted.length
  while (i > 0 && sorted[i - 1] > v) i--
  if (i === sorted.length) sorted.push(v)
  else sorted.splice(i, 0, v)
}

/** Index of the first event with ts > bound (binary search over the held range). */
function firstAfter<R, A>(events: HeldEvent<R, A>[], head: number, bound: number): number {
  let lo = head
  let hi = events.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (events[mid].ts <= bound) lo = mid + 1
    else hi = mid
  }
  return lo
}

export function createSlidingWindow<R, A, S>(
  spec: {sizeMs: number; delayMs?: number},
  aggregator: AggregatorFactory<R, A, S>,
  options: WindowOperatorOptions<R> = {},
): WindowOperator<R, A> {
  const delayMs = spec.delayMs ?? 0
  checkParam.positive('sliding', spec.sizeMs, 'size')
  checkParam.nonNegative('sliding', delayMs, 'delay')
  return new SlidingWindowOperator(spec.sizeMs, delayMs, aggregator, options)
}

export const slidingWindow = defineWindowKind({
  kind: 'sliding',
  signature: 'SLIDINGWINDOW(unit, size[, delay])',
  keyedUnlikeEkuiper: true,
  timed: true,
  args: [{name: 'size'}, {name: 'delay', optional: true, allowZero: true}],
  over: true,
  plan: ([sizeMs, delayMs]) => ({sizeMs: sizeMs!, delayMs: delayMs ?? 0}),
  operator: createSlidingWindow,
  explain: (p) => `sliding ${formatWindowMs(p.sizeMs)}${p.delayMs ? ` + delay ${formatWindowMs(p.delayMs)}` : ''}`,
})
