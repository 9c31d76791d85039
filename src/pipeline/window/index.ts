/**
 * Event-time window operators of `iotd pipeline` (semantics: shared/docs/window-semantics.md). The rule compiler
 * turns the GROUP BY window call into a WindowSpec (`windowSpecFromCall`) and the aggregate expressions into an
 * AggregatorFactory; the runtime pushes events and forwards the rows each call returns.
 */
import {createCountWindow} from './count-window.js'
import {createHoppingWindow} from './hopping-window.js'
import {createSessionWindow} from './session-window.js'
import {createSlidingWindow} from './sliding-window.js'
import {createTumblingWindow} from './tumbling-window.js'
import type {AggregatorFactory, WindowOperator, WindowOperatorOptions} from './types.js'
import type {WindowSpec} from './window-spec.js'

export type {
  AggregatorFactory,
  FutureSkewOptions,
  WindowEvent,
  WindowOperator,
  WindowOperatorOptions,
  WindowOutput,
  WindowStats,
} from './types.js'
export {TIME_UNIT_MS, isWindowCall, timeUnitMs, validateWindowSpec, windowSpecFromCall} from './window-spec.js'
export type {TimeUnit, WindowKind, WindowSpec} from './window-spec.js'
export {DEFAULT_MAX_FUTURE_SKEW_MS, FutureSkewGuard, Watermark} from './watermark.js'
export {compareWindowOutputs} from './output-order.js'
export {createCountWindow, createHoppingWindow, createSessionWindow, createSlidingWindow, createTumblingWindow}

/** One operator for one rule's window. */
export function createWindowOperator<R, A, S>(
  spec: WindowSpec,
  aggregator: AggregatorFactory<R, A, S>,
  options: WindowOperatorOptions<R> = {},
): WindowOperator<R, A> {
  switch (spec.kind) {
    case 'tumbling':
      return createTumblingWindow(spec, aggregator, options)
    case 'hopping':
      return createHoppingWindow(spec, aggregator, options)
    case 'sliding':
      return createSlidingWindow(spec, aggregator, options)
    case 'session':
      return createSessionWindow(spec, aggregator, options)
    case 'count':
      return createCountWindow(spec, aggregator, options)
  }
}
