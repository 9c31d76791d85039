/**
 * SESSIONWINDOW(unit, maxDuration, timeout) — eKuiper's argument order — per group key.
 *
 * - An event joins, and merges together, every open session of its key with first - timeout <= ts <= last +
 *   timeout. Otherwise it opens a new session, unless ts + timeout < W (late: dropped and counted).
 * - A session fires when W > last + timeout (a gap equal to the timeout keeps it open).
 *   window_start = first ts, window_end = last ts + timeout.
 * - maxDuration is checked only at epoch-aligned multiples of itself (offset + k*maxDuration): a firing session
 *   is cut at the smallest multiple T with T - first > maxDuration if it has events at or after T; the cut piece
 *   ends at T (exclusive) and the rest continues as a piece starting at T, checked again the same way. A piece
 *   without rows emits nothing. Rows of one advance are ordered by window_end, window_start, key.
 *
 * Because cuts fall on multiples of maxDuration, a session keeps one partial aggregate per maxDuration-aligned
 * bucket: with `merge` these are accumulators, without it the bucket keeps its rows and aggregates at firing.
 * Open sessions sit in a min-heap by the fire time they had when queued; a session that grew since is re-queued
 * when popped, so each session has one heap entry however many events extend it.
 */
import {EventTimeOperator, type Placement} from './event-time-operator.js'
import {MinHeap} from './min-heap.js'
import {compareWindowOutputs} from './output-order.js'
import {partialAggregation, type PartialAggregation} from './partial-aggregation.js'
import type {AggregatorFactory, WindowEvent, WindowOperator, WindowOperatorOptions, WindowOutput} from './types.js'
import {checkParam, defineWindowKind, formatWindowMs} from './window-kind.js'

/** The rows of one session that fall into one maxDuration-aligned bucket. */
interface SessionPart<P> {
  bucketStart: number
  partial: P
  events: number
  acks: unknown[] | null
}

class Session<P> {
  parts: SessionPart<P>[] = []
  events = 0
  alive = true
  constructor(
    readonly key: string,
    public first: number,
    public last: number,
    /** The fire time this session was queued under in the heap (never changed while queued). */
    public queuedAt: number,
  ) {}
}

export class SessionWindowOperator<R, A, P> extends EventTimeOperator<R, A> {
  readonly kind = 'session' as const
  private readonly byKey = new Map<string, Session<P>[]>()
  private readonly queue = new MinHeap<Session<P>>((a, b) => a.queuedAt < b.queuedAt)
  private open = 0

  constructor(
    private readonly maxDuration: number,
    private readonly timeout: number,
    private readonly partials: PartialAggregation<R, A, P>,
    options: WindowOperatorOptions<R>,
  ) {
    super(options)
  }

  protected place(event: WindowEvent<R>, _triggers: boolean): Placement {
    const {ts, key} = event
    const timeout = this.timeout
    let sessions = this.byKey.get(key)
    let target: Session<P> | undefined
    if (sessions !== undefined) {
      for (let i = 0; i < sessions.length; i++) {
        const s = sessions[i]
        if (s.first - timeout <= ts && ts <= s.last + timeout) {
          if (target === undefined) target = s
          else {
            this.absorb(target, s)
            sessions.splice(i--, 1)
          }
        }
      }
    }
    if (target === undefined) {
      if (ts + timeout < this.wm.value) return 'late'
      target = new Session<P>(key, ts, ts, ts + timeout)
      if (sessions === undefined) {
        sessions = []
        this.byKey.set(key, sessions)
      }
      sessions.push(target)
      this.queue.push(target)
      this.open++
    }
    if (ts < target.first) target.first = ts
    if (ts > target.last) target.last = ts
    const part = this.partFor(target, ts)
    this.partials.add(part.partial, event.row)
    part.events++
    target.events++
    if (event.ack !== undefined) (part.acks ??= []).push(event.ack)
    return 'held'
  }

  protected fire(): WindowOutput<A>[] {
    const w = this.wm.value
    const out: WindowOutput<A>[] = []
    let top = this.queue.peek()
    while (top !== undefined && top.queuedAt < w) {
      this.queue.pop()
      if (top.alive) {
        const fireAt = top.last + this.timeout
        if (fireAt < w) this.close(top, out)
        else {
          top.queuedAt = fireAt
          this.queue.push(top)
        }
      }
      top = this.queue.peek()
    }
    if (out.length > 1) out.sort(compareWindowOutputs)
    return out
  }

  protected openWindows(): number {
    return this.open
  }

  protected saveWindows(): unknown {
    const out: [string, number, number, number, number, [number, unknown, number][]][] = []
    for (const sessions of this.byKey.values()) {
      for (const s of sessions) out.push([s.key, s.first, s.last, s.queuedAt, s.events, s.parts.map((p) => [p.bucketStart, this.partials.save(p.partial), p.events])])
    }
    return out
  }

  protected restoreWindows(data: unknown): void {
    for (const [key, first, last, queuedAt, events, parts] of data as [string, number, number, number, number, [number, unknown, number][]][]) {
      const s = new Session<P>(key, first, last, queuedAt)
      s.events = events
      s.parts = parts.map(([bucketStart, partial, n]) => ({bucketStart, partial: this.partials.load(partial), events: n, acks: null}))
      const list = this.byKey.get(key)
      if (list === undefined) this.byKey.set(key, [s])
      else list.push(s)
      this.queue.push(s)
      this.open++
    }
  }

  /** Moves every part of `other` into `into` (bucket by bucket) and retires `other`. */
  private absorb(into: Session<P>, other: Session<P>): void {
    for (const part of other.parts) {
      const mine = this.findPart(into, part.bucketStart)
      if (mine === undefined) insertPart(into.parts, part)
      else {
        mine.partial = this.partials.merge(mine.partial, part.partial)
        mine.events += part.events
        if (part.acks !== null) mine.acks = mine.acks === null ? part.acks : mine.acks.concat(part.acks)
      }
    }
    into.first = Math.min(into.first, other.first)
    into.last = Math.max(into.last, other.last)
    into.events += other.events
    other.alive = false // its heap entry is skipped when popped
    this.open--
  }

  private partFor(session: Session<P>, ts: number): SessionPart<P> {
    const md = this.maxDuration
    const bucketStart = this.offset + Math.floor((ts - this.offset) / md) * md
    let part = this.findPart(session, bucketStart)
    if (part === undefined) {
      part = {bucketStart, partial: this.partials.create(), events: 0, acks: null}
      insertPart(session.parts, part)
    }
    return part
  }

  private findPart(session: Session<P>, bucketStart: number): SessionPart<P> | undefined {
    const parts = session.parts
    // Parts are sorted; the newest bucket is the usual target, so search from the end.
    for (let i = parts.length - 1; i >= 0; i--) {
      if (parts[i].bucketStart === bucketStart) return parts[i]
      if (parts[i].bucketStart < bucketStart) return undefined
    }
    return undefined
  }

  /** Fires a session, cut into pieces at maxDuration multiples as the module comment describes. */
  private close(session: Session<P>, out: WindowOutput<A>[]): void {
    session.alive = false
    this.open--
    const sessions = this.byKey.get(session.key)
    if (sessions !== undefined) {
      if (sessions.length === 1) this.byKey.delete(session.key)
      else sessions.splice(sessions.indexOf(session), 1)
    }
    let pieceStart = session.first
    let cut = this.nextCut(pieceStart)
    let piece: SessionPart<P>[] = []
    const emit = (windowEnd: number): void => {
      if (piece.length === 0) return
      let events = 0
      let acks: unknown[] = []
      for (const part of piece) {
        events += part.events
        if (part.acks !== null) acks = acks.length === 0 ? part.acks : acks.concat(part.acks)
      }
      const aggregates = this.partials.result(piece.map((p) => p.partial))
      out.push({key: session.key, windowStart: pieceStart, windowEnd, aggregates, events, acks})
      piece = []
    }
    for (const part of session.parts) {
      while (part.bucketStart >= cut) {
        emit(cut)
        pieceStart = cut
        cut = this.nextCut(cut)
      }
      piece.push(part)
    }
    emit(session.last + this.timeout)
  }

  /** The smallest aligned multiple T of maxDuration with T - start > maxDuration. */
  private nextCut(start: number): number {
    const md = this.maxDuration
    return this.offset + (Math.floor((start + md - this.offset) / md) + 1) * md
  }
}

function insertPart<P>(parts: SessionPart<P>[], part: SessionPart<P>): void {
  let i = parts.length
  while (i > 0 && parts[i - 1].bucketStart > part.bucketStart) i--
  parts.splice(i, 0, part)
}

export function createSessionWindow<R, A, S>(
  spec: {maxDurationMs: number; timeoutMs: number},
  aggregator: AggregatorFactory<R, A, S>,
  options: WindowOperatorOptions<R> = {},
): WindowOperator<R, A> {
  checkParam.positive('session', spec.maxDurationMs, 'maxDuration')
  checkParam.nonNegative('session', spec.timeoutMs, 'timeout')
  return new SessionWindowOperator(spec.maxDurationMs, spec.timeoutMs, partialAggregation(aggregator), options)
}

export const sessionWindow = defineWindowKind({
  kind: 'session',
  signature: 'SESSIONWINDOW(unit, maxDuration, timeout)',
  keyedUnlikeEkuiper: true,
  timed: true,
  args: [{name: 'maxDuration'}, {name: 'timeout'}],
  plan([maxDurationMs, timeoutMs], ctx) {
    if (timeoutMs! > maxDurationMs!) ctx.warn('SESSIONWINDOW timeout is longer than maxDuration: check the argument order (unit, maxDuration, timeout)', 1)
    return {maxDurationMs: maxDurationMs!, timeoutMs: timeoutMs!}
  },
  operator: createSessionWindow,
  explain: (p) => `session, gap ${formatWindowMs(p.timeoutMs)}, max ${formatWindowMs(p.maxDurationMs)}`,
})
