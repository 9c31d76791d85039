/**
 * The contract between the pipeline runtime and the window operators. Operators are pure: no clocks, no I/O;
 * the rule compiler hands them compiled closures (the aggregator) and the runtime feeds them events.
 *
 * Acknowledgements (at-least-once): an operator holds the ack handle of every event it keeps and gives each one
 * back exactly once — in `WindowOutput.acks` of the last row the event contributes to, or through
 * `onRelease` when the event leaves without a row still to come. Events the operator never keeps (filtered,
 * late, rejected for clock skew) are never held: the caller acknowledges those itself.
 */

export interface WindowEvent<R> {
  /** Event time in ms since the Unix epoch (or arrival time for processing-time sources). */
  ts: number
  /** Group key ('' when the rule has no GROUP BY keys). */
  key: string
  row: R
  /** Opaque acknowledgement handle of the source message, passed through untouched. */
  ack?: unknown
}

export interface WindowOutput<A> {
  key: string
  windowStart: number
  windowEnd: number
  aggregates: A
  /** Rows aggregated into this window. */
  events: number
  /** Ack handles released by this row: acknowledge them once the row has been accepted by every sink. */
  acks: unknown[]
}

export interface WindowStats {
  eventsIn: number
  lateDropped: number
  windowsFired: number
  openWindows: number
  /** Events refused because their ts was too far ahead of the wall clock (maxFutureSkew). */
  futureRejected: number
}

/**
 * Incremental aggregation: windows hold `S`, not rows, wherever the window kind allows. `merge` lets session
 * windows merge and cut without keeping rows; it may reuse and return `a`.
 */
export interface AggregatorFactory<R, A, S = unknown> {
  create(): S
  add(state: S, row: R): void
  result(state: S): A
  merge?(a: S, b: S): S
  /** The state as structured-cloneable data for a checkpoint (default: the state itself). */
  save?(state: S): unknown
  /** The state back from `save`'s data (default: the data itself). */
  load?(data: unknown): S
  /** Many states at once (every open window of a kind that keeps no rows), e.g. as columns; `loadAll` reverses it. */
  saveAll?(states: readonly S[]): unknown
  loadAll?(data: unknown, count: number): S[]
}

export interface WindowOperator<R, A> {
  /** The kind that built it (kinds.ts): 'tumbling', 'count', … */
  readonly kind: string
  /** Current watermark W (count windows: always -Infinity). */
  readonly watermark: number
  /**
   * One arriving event. `accepted: false` when WHERE/FILTER removed it: it only advances the watermark.
   * `triggers` is the OVER (WHEN …) result, used by sliding windows only. Returns the rows fired by this
   * arrival in the normative order.
   */
  push(event: WindowEvent<R>, accepted?: boolean, triggers?: boolean): WindowOutput<A>[]
  /** Raises W without an event (idle or processing-time advance); W never decreases. */
  advanceTo(watermark: number): WindowOutput<A>[]
  /** End of a finite input: W = +Infinity, everything fires (count windows drop partial windows). */
  end(): WindowOutput<A>[]
  stats(): WindowStats
  /**
   * The operator's state as structured-cloneable data for a checkpoint: open windows (through the aggregator's
   * `save`), held rows, the watermark and the counters. Ack handles are not part of it: a pipeline with a state
   * store acknowledges its input once it is in the input log, so windows hold no acks then.
   */
  snapshot(): unknown
  /** Replaces the state of a fresh operator with a `snapshot` of one built from the same spec. */
  restore(data: unknown): void
}

/** An aggregator's state to checkpoint data and back (the aggregator's own `save`/`load`, or the state as it is). */
export function saveAggregate<S>(agg: AggregatorFactory<unknown, unknown, S>, state: S): unknown {
  return agg.save ? agg.save(state) : state
}

export function loadAggregate<S>(agg: AggregatorFactory<unknown, unknown, S>, data: unknown): S {
  return agg.load ? agg.load(data) : (data as S)
}

/** Many states to checkpoint data and back (the aggregator's `saveAll`/`loadAll`, else state by state). */
export function saveAggregates<S>(agg: AggregatorFactory<unknown, unknown, S>, states: readonly S[]): unknown {
  return agg.saveAll ? agg.saveAll(states) : states.map((s) => saveAggregate(agg, s))
}

export function loadAggregates<S>(agg: AggregatorFactory<unknown, unknown, S>, data: unknown, count: number): S[] {
  return agg.loadAll ? agg.loadAll(data, count) : (data as unknown[]).map((d) => loadAggregate(agg, d))
}

export interface FutureSkewOptions {
  /** The wall clock (ms since the epoch); injected so tests and replays control it. */
  now: () => number
  /** Default 5 minutes. */
  maxFutureSkewMs?: number
}

export interface WindowOperatorOptions<R> {
  /** W = max(ts) - lateToleranceMs. Default 0. */
  lateToleranceMs?: number
  /** Shifts epoch alignment of time windows (e.g. 3_600_000 for days starting at 01:00 UTC: windows start at offset + k*size). Default 0. */
  offsetMs?: number
  /** A late event, dropped and counted; route it to a late-data sink. The caller acks it. */
  onLate?: (event: WindowEvent<R>) => void
  /** Ack handles of held events that leave without a row still to come (see the module comment). */
  onRelease?: (acks: unknown[]) => void
  /** Live sources only: reject events too far ahead of the wall clock so they cannot push W forward. */
  futureSkew?: FutureSkewOptions
  /** An event rejected by the future-skew check. The caller acks it. */
  onFutureSkew?: (event: WindowEvent<R>) => void
}
