/**
 * TUMBLINGWINDOW(unit, size): an event at ts belongs to `[floor((ts - offset)/size)*size + offset, +size)`,
 * aligned to the Unix epoch in UTC (offset 0). Start inclusive, end exclusive.
 *
 * Per group key, a window fires exactly once, when W >= end — no early firings, no late re-firings. An event
 * whose window has already fired is late: dropped, counted, handed to `onLate`. A window that received no rows
 * emits nothing. Rows firing on one watermark advance are ordered by window_end, window_start, key.
 * The engine is shared with hopping windows (tumbling is hop = size): see aligned-window-operator.ts.
 */
import {AlignedWindowOperator} from './aligned-window-operator.js'
import type {AggregatorFactory, WindowOperator, WindowOperatorOptions} from './types.js'
import {checkParam, defineWindowKind, formatWindowMs} from './window-kind.js'

export function createTumblingWindow<R, A, S>(
  spec: {sizeMs: number},
  aggregator: AggregatorFactory<R, A, S>,
  options: WindowOperatorOptions<R> = {},
): WindowOperator<R, A> {
  checkParam.positive('tumbling', spec.sizeMs, 'size')
  return new AlignedWindowOperator('tumbling', spec.sizeMs, spec.sizeMs, aggregator, options)
}

export const tumblingWindow = defineWindowKind({
  kind: 'tumbling',
  signature: 'TUMBLINGWINDOW(unit, size)',
  timed: true,
  args: [{name: 'size'}],
  plan: ([sizeMs]) => ({sizeMs: sizeMs!}),
  operator: createTumblingWindow,
  explain: (p) => `tumbling ${formatWindowMs(p.sizeMs)}`,
})
