/**
 * HOPPINGWINDOW(unit, size, hop): an event at ts belongs to every `[offset + k*hop, offset + k*hop + size)` that
 * contains ts (epoch-aligned, start inclusive, end exclusive).
 *
 * Each (window, key) fires exactly once, when W >= end. Lateness is per window (Flink, Kafka Streams), not per
 * event (eKuiper): an arriving event joins each of its windows that has not fired yet and is dropped as late only
 * if all of them have fired. Its ack is released with the last of its windows to fire. With hop > size an event
 * may fall in a gap between windows: it joins nothing, is not late, and its ack is released at once.
 */
import {AlignedWindowOperator} from './aligned-window-operator.js'
import type {AggregatorFactory, WindowOperator, WindowOperatorOptions} from './types.js'
import {checkParam, defineWindowKind, formatWindowMs} from './window-kind.js'

export function createHoppingWindow<R, A, S>(
  spec: {sizeMs: number; hopMs: number},
  aggregator: AggregatorFactory<R, A, S>,
  options: WindowOperatorOptions<R> = {},
): WindowOperator<R, A> {
  checkParam.positive('hopping', spec.sizeMs, 'size')
  checkParam.positive('hopping', spec.hopMs, 'hop')
  return new AlignedWindowOperator('hopping', spec.sizeMs, spec.hopMs, aggregator, options)
}

export const hoppingWindow = defineWindowKind({
  kind: 'hopping',
  signature: 'HOPPINGWINDOW(unit, size, hop)',
  timed: true,
  args: [{name: 'size'}, {name: 'hop'}],
  plan([sizeMs, hopMs], ctx) {
    if (hopMs! > sizeMs!) ctx.warn(`HOPPINGWINDOW hop (${ctx.written[1]}) is larger than its size (${ctx.written[0]}): events between windows belong to none`, 1)
    return {sizeMs: sizeMs!, hopMs: hopMs!}
  },
  operator: createHoppingWindow,
  explain: (p) => `hopping ${formatWindowMs(p.sizeMs)} every ${formatWindowMs(p.hopMs)}`,
})
