/**
 * Partial aggregates for windows that must be merged or split after rows arrived (sessions). With the
 * aggregator's `merge`, a partial is an accumulator; without it, a partial is the rows themselves, aggregated
 * once when the window fires. Either way the operator sees one interface.
 */
import {loadAggregate, saveAggregate, type AggregatorFactory} from './types.js'

export interface PartialAggregation<R, A, P> {
  create(): P
  add(partial: P, row: R): void
  /** Combines two partials of the same window; may reuse and return `a`. */
  merge(a: P, b: P): P
  /** The result over partials given in time order. */
  result(partials: P[]): A
  /** A partial as checkpoint data and back. */
  save(partial: P): unknown
  load(data: unknown): P
}

export function partialAggregation<R, A, S>(agg: AggregatorFactory<R, A, S>): PartialAggregation<R, A, unknown> {
  const merge = agg.merge?.bind(agg)
  if (merge !== undefined) {
    const accumulators: PartialAggregation<R, A, S> = {
      create: () => agg.create(),
      add: (partial, row) => agg.add(partial, row),
      merge,
      result: (partials) => {
        let acc = partials.length > 0 ? partials[0] : agg.create()
        for (let i = 1; i < partials.length; i++) acc = merge(acc, partials[i])
        return agg.result(acc)
      },
      save: (partial) => saveAggregate(agg as AggregatorFactory<unknown, unknown, S>, partial),
      load: (data) => loadAggregate(agg as AggregatorFactory<unknown, unknown, S>, data),
    }
    return accumulators
  }
  const rows: PartialAggregation<R, A, R[]> = {
    create: () => [],
    add: (list, row) => {
      list.push(row)
    },
    merge: (a, b) => {
      for (const row of b) a.push(row)
      return a
    },
    result: (partials) => {
      const state = agg.create()
      for (const list of partials) for (const row of list) agg.add(state, row)
      return agg.result(state)
    },
    save: (list) => list,
    load: (data) => data as R[],
  }
  return rows
}
