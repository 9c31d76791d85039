/**
 * Event-time window operators of `iotd pipeline` (semantics: docs/window-semantics.md). Each kind is one file
 * (operator + its WindowKindSpec), listed in kinds.ts; the planner turns the GROUP BY window call into the kind's
 * parameters, the rule runner builds the kind's operator with the aggregator compiled from the rule, pushes events
 * and forwards the rows each call returns.
 */
export type {
  AggregatorFactory,
  FutureSkewOptions,
  WindowEvent,
  WindowOperator,
  WindowOperatorOptions,
  WindowOutput,
  WindowStats,
} from './types.js'
export {TIME_UNITS_MS, formatWindowMs, type WindowArgSpec, type WindowKindSpec, type WindowPlanContext} from './window-kind.js'
export {WINDOW_CALLS, WINDOW_KINDS, createWindowOperator, windowKind, type WindowKind, type WindowSpec} from './kinds.js'
export {DEFAULT_MAX_FUTURE_SKEW_MS, FutureSkewGuard, Watermark} from './watermark.js'
export {compareWindowOutputs} from './output-order.js'
export {createCountWindow} from './count-window.js'
export {createHoppingWindow} from './hopping-window.js'
export {createSessionWindow} from './session-window.js'
export {createSlidingWindow} from './sliding-window.js'
export {createTumblingWindow} from './tumbling-window.js'
