export {FunctionRegistry, createAccumulator, defaultFunctionRegistry} from './registry.js'
export {percentileOfSorted} from './aggregates.js'
export {zscoreInit, zscoreStep, type ZScoreState} from './stateful.js'
export {castValue, type CastTarget} from './conversion.js'
export {formatTime} from './time.js'
export {parseJsonPath} from './json.js'
export type {
  Accumulator,
  AggregateFunctionSpec,
  ConstArgs,
  FunctionContext,
  FunctionSpec,
  ParamSpec,
  ParamType,
  ScalarFunctionSpec,
  StatefulFunctionSpec,
  WindowFunctionSpec,
} from './types.js'
