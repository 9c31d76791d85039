/**
 * The engine behind tumbling and hopping windows: fixed-size windows `[offset + k*hop, offset + k*hop + size)`
 * aligned to the Unix epoch (tumbling is hop = size).
 *
 * State is flat: per key a short linked list of open windows (no per-key array: at 100,000 keys the arrays
 * would cost more than the windows), each holding an accumulator, never rows; and per window end a bucket of the
 * windows that end there, with the distinct ends in a min-heap, so a watermark advance touches only the windows
 * it fires.
 *
 * - A window fires exactly once, when W >= end; then it is gone, so nothing re-fires.
 * - Lateness is per window: an event joins each of its windows with end > W and is late only if none is left.
 * - An event's ack rides with the last window it joined (the one with the latest start, which fires last).
 * - Rows of one advance are ordered by window_end, window_start, key.
 */
import {EventTimeOperator, type Placement} from './event-time-operator.js'
import {MinHeap} from './min-heap.js'
import {fromColumn, toColumn, type Column} from './columns.js'
import {compareWindowOutputs} from './output-order.js'
import {loadAggregates, saveAggregates, type AggregatorFactory, type WindowEvent, type WindowOperatorOptions, type WindowOutput} from './types.js'

class AlignedWindow<S> {
  events = 0
  acks: unknown[] | null = null
  /** The next open window of the same key (usually none: only out-of-order data keeps two open). */
  nextOfKey: AlignedWindow<S> | null = null
  constructor(
    readonly key: string,
    readonly start: number,
    readonly end: number,
    readonly state: S,
  ) {}
}

export class AlignedWindowOperator<R, A, S> extends EventTimeOperator<R, A> {
  private readonly byKey = new Map<string, AlignedWindow<S>>()
  private readonly byEnd = new Map<number, AlignedWindow<S>[]>()
  private readonly ends = new MinHeap<number>((a, b) => a < b)
  private open = 0

  constructor(
    readonly kind: 'tumbling' | 'hopping',
    private readonly size: number,
    private readonly hop: number,
    private readonly agg: AggregatorFactory<R, A, S>,
    options: WindowOperatorOptions<R>,
  ) {
    super(options)
  }

  protected place(event: WindowEvent<R>, _triggers: boolean): Placement {
    const {size, hop, offset} = this
    const rel = event.ts - offset
    const lastK = Math.floor(rel / hop)
    const firstK = size === hop ? lastK : Math.floor((rel - size) / hop) + 1
    if (firstK > lastK) return 'unwindowed'
    const w = this.wm.value
    const key = event.key
    let joined: AlignedWindow<S> | undefined
    for (let k = firstK; k <= lastK; k++) {
      const start = offset + k * hop
      const end = start + size
      if (end <= w) continue // fired already (or would have, had it held rows)
      let win = this.byKey.get(key) ?? null
      while (win !== null && win.start !== start) win = win.nextOfKey
      if (win === null) win = this.openWindow(key, start, end)
      this.agg.add(win.state, event.row)
      win.events++
      joined = win
    }
    if (joined === undefined) return 'late'
    if (event.ack !== undefined) {
      if (joined.acks === null) joined.acks = [event.ack]
      else joined.acks.push(event.ack)
    }
    return 'held'
  }

  protected fire(): WindowOutput<A>[] {
    const w = this.wm.value
    const out: WindowOutput<A>[] = []
    let top = this.ends.peek()
    while (top !== undefined && top <= w) {
      this.ends.pop()
      const bucket = this.byEnd.get(top)
      this.byEnd.delete(top)
      if (bucket !== undefined) for (const win of bucket) out.push(this.close(win))
      top = this.ends.peek()
    }
    if (out.length > 1) out.sort(compareWindowOutputs)
    return out
  }

  protected openWindows(): number {
    return this.open
  }

  /** Column by column (window/columns.ts): 100,000 open windows are a handful of arrays, not 100,000 objects. */
  protected saveWindows(): unknown {
    const wins: AlignedWindow<S>[] = []
    for (const bucket of this.byEnd.values()) for (const win of bucket) wins.push(win)
    return {
      n: wins.length,
      keys: wins.map((w) => w.key),
      starts: toColumn(wins.map((w) => w.start)),
      ends: toColumn(wins.map((w) => w.end)),
      events: toColumn(wins.map((w) => w.events)),
      states: saveAggregates(this.agg as AggregatorFactory<unknown, unknown, S>, wins.map((w) => w.state)),
    }
  }

  protected restoreWindows(data: unknown): void {
    const d = data as {n: number; keys: string[]; starts: Column; ends: Column; events: Column; states: unknown}
    const starts = fromColumn(d.starts, d.n)
    const ends = fromColumn(d.ends, d.n)
    const events = fromColumn(d.events, d.n)
    const states = loadAggregates(this.agg as AggregatorFactory<unknown, unknown, S>, d.states, d.n)
    for (let i = 0; i < d.n; i++) {
      const win = this.openWindow(d.keys[i], starts[i] as number, ends[i] as number, states[i])
      win.events = events[i] as number
    }
  }

  private openWindow(key: string, start: number, end: number, state: S = this.agg.create()): AlignedWindow<S> {
    const win = new AlignedWindow(key, start, end, state)
    win.nextOfKey = this.byKey.get(key) ?? null
    this.byKey.set(key, win)
    let bucket = this.byEnd.get(end)
    if (bucket === undefined) {
      bucket = []
      this.byEnd.set(end, bucket)
      this.ends.push(end)
    }
    bucket.push(win)
    this.open++
    return win
  }

  private close(win: AlignedWindow<S>): WindowOutput<A> {
    const head = this.byKey.get(win.key)
    if (head === win) {
      if (win.nextOfKey === null) this.byKey.delete(win.key)
      else this.byKey.set(win.key, win.nextOfKey)
    } else {
      let prev = head ?? null
      while (prev !== null && prev.nextOfKey !== win) prev = prev.nextOfKey
      if (prev !== null) prev.nextOfKey = win.nextOfKey
    }
    this.open--
    return {
      key: win.key,
      windowStart: win.start,
      windowEnd: win.end,
      aggregates: this.agg.result(win.state),
      events: win.events,
      acks: win.acks ?? [],
    }
  }
}
