/**
 * What a compiled expression reads. The runtime owns one RowContext per rule and overwrites its fields for each
 * event (no allocation per event); the window operator does the same when it emits a window.
 */

/** MQTT and record metadata, as `meta(topic)` etc. read it. */
export interface RecordMetaView {
  topic?: string
  qos?: number
  retain?: boolean
  clientid?: string
  /** Event time, epoch ms */
  timestamp?: number
  messageid?: number | string
  [key: string]: unknown
}

export interface RowContext {
  /** The decoded payload (an object for JSON and mapped CSV; anything else reads as null fields). */
  payload: unknown
  meta: RecordMetaView
  /** The key stateful functions (lag, changed, zscore) keep state under when the call has no PARTITION BY. */
  key?: unknown
  /** Joined table rows by alias; null or absent when a LEFT JOIN found no row. */
  tables?: Readonly<Record<string, unknown>>
  /** The window being emitted (window_start(), window_end()). */
  window?: {start: number; end: number}
  /** Aggregate results by AggregatePlan.index, for the window being emitted. */
  aggregates?: ArrayLike<unknown>
  /** Values of the rule's analytic calls for this row, by slot: computed before anything else reads the row. */
  analytic?: unknown[]
}

/** A fresh, empty context (for tests and one-off evaluation). */
export function rowContext(payload: unknown, meta: RecordMetaView = {}, extra: Partial<RowContext> = {}): RowContext {
  return {payload, meta, ...extra}
}
