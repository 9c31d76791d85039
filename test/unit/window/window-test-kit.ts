/** Shared fixtures for the window operator tests: a transparent aggregator and compact row views. */
import type {AggregatorFactory, WindowEvent, WindowOperator, WindowOutput} from '../../../src/pipeline/window/index.js'

export interface Row {
  v: number
}

/** count(*), sum(v) and the values in the order they were added (so tests can see window contents). */
export interface Totals {
  c: number
  total: number
  values: number[]
}

export const totals: AggregatorFactory<Row, Totals, Totals> = {
  create: () => ({c: 0, total: 0, values: []}),
  add(s, row) {
    s.c++
    s.total += row.v
    s.values.push(row.v)
  },
  result: (s) => ({c: s.c, total: s.total, values: [...s.values]}),
  merge(a, b) {
    a.c += b.c
    a.total += b.total
    a.values.push(...b.values)
    return a
  },
}

/** The same aggregate without `merge`, so operators must keep rows where they would merge. */
export const totalsWithoutMerge: AggregatorFactory<Row, Totals, Totals> = {
  create: totals.create,
  add: totals.add,
  result: totals.result,
}

/** An event whose ack handle is `ack:<v>` so tests can follow it. */
export function ev(ts: number, v: number, key = ''): WindowEvent<Row> {
  return {ts, key, row: {v}, ack: `ack:${v}`}
}

export interface RowView {
  key: string
  ws: number
  we: number
  c: number
  total: number
}

export function view(o: WindowOutput<Totals>): RowView {
  return {key: o.key, ws: o.windowStart, we: o.windowEnd, c: o.aggregates.c, total: o.aggregates.total}
}

/** Pushes `[ts, v, key?]` events in order (then ends the input unless told not to) and returns every row. */
export function run(
  op: WindowOperator<Row, Totals>,
  events: readonly (readonly [number, number, string?])[],
  endInput = true,
): WindowOutput<Totals>[] {
  const out: WindowOutput<Totals>[] = []
  for (const [ts, v, key] of events) out.push(...op.push(ev(ts, v, key ?? '')))
  if (endInput) out.push(...op.end())
  return out
}

export {seededRandom} from '../../helpers/seeded-random.js'
