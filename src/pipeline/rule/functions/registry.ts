/**
 * The function registry: the planner looks names up here (arity, literal and type checks), compiled expressions
 * call the implementations. A pipeline may extend a copy of the default registry; the default is never mutated.
 */
import {closestName} from '../../../config/did-you-mean.js'
import type {ConstArgs} from './types.js'
import {aggregateFunctions} from './aggregates.js'
import {collectionFunctions} from './collections.js'
import {conversionFunctions} from './conversion.js'
import {hashFunctions} from './hash.js'
import {jsonFunctions} from './json.js'
import {mathFunctions} from './math.js'
import {statefulFunctions} from './stateful.js'
import {stringFunctions} from './string.js'
import {timeFunctions} from './time.js'
import {param} from './define.js'
import type {Accumulator, AggregateFunctionSpec, FunctionSpec, ScalarFunctionSpec, WindowFunctionSpec} from './types.js'

const windowFunctions: WindowFunctionSpec[] = [
  {kind: 'window', name: 'window_start', summary: 'start of the window being emitted (epoch ms)', params: [], required: 0, bound: 'start'},
  {kind: 'window', name: 'window_end', summary: 'end of the window being emitted (epoch ms)', params: [], required: 0, bound: 'end'},
]

export class FunctionRegistry {
  private readonly specs = new Map<string, FunctionSpec>()

  constructor(specs: Iterable<FunctionSpec> = []) {
    for (const s of specs) this.register(s)
  }

  /** Adds or replaces a function; names are case-insensitive. */
  register(spec: FunctionSpec): this {
    this.specs.set(spec.name.toLowerCase(), spec)
    return this
  }

  get(name: string): FunctionSpec | undefined {
    return this.specs.get(name.toLowerCase())
  }

  has(name: string): boolean {
    return this.specs.has(name.toLowerCase())
  }

  names(): string[] {
    return [...this.specs.keys()].sort()
  }

  list(): FunctionSpec[] {
    return this.names().map((n) => this.specs.get(n) as FunctionSpec)
  }

  /** A copy to extend without touching this registry. */
  clone(): FunctionRegistry {
    return new FunctionRegistry(this.specs.values())
  }

  /**
   * A "did you mean" hint: a known function of the same meaning under another name (stdev -> stddev, ifnull ->
   * coalesce), else the closest name within an edit distance that grows with the name's length (so `var` is not
   * taken for `lag`, nor `mqtt` for `sqrt`).
   */
  suggest(name: string): string | undefined {
    const lower = name.toLowerCase()
    const meant = SAME_MEANING[lower]
    // meta() is grammar, not a registered function, but it is what `topic()` or `header()` mean.
    if (meant && (this.specs.has(meant) || meant === 'meta')) return meant
    return closestName(lower, this.specs.keys())
  }
}

/** Names other SQL dialects (and habits) use for functions this registry has under eKuiper's name. */
const SAME_MEANING: Readonly<Record<string, string>> = {
  stdev: 'stddev', std: 'stddev', stdevp: 'stddev', stddev_pop: 'stddev', stddev_samp: 'stddevs', variance: 'var', var_pop: 'var',
  var_samp: 'vars', mean: 'avg', average: 'avg', ifnull: 'coalesce', nvl: 'coalesce', isnotnull: 'isnull', len: 'length',
  strlen: 'length', char_length: 'length', substr: 'substring', ucase: 'upper', lcase: 'lower', toupper: 'upper', tolower: 'lower',
  date_format: 'format_time', strftime: 'format_time', unix_timestamp: 'tstamp', current_timestamp_ms: 'tstamp', timestamp: 'tstamp',
  json_extract: 'json_path_query', json_value: 'json_path_query_first', to_number: 'cast', to_string: 'cast', str: 'cast',
  array_length: 'cardinality', size: 'cardinality', contains: 'array_contains', explode: 'unnest', flatten: 'array_flatten',
  previous: 'lag', prev: 'lag', last: 'last_value', first: 'first_value', array_agg: 'collect', list: 'collect',
  group_concat: 'collect', topic: 'meta', metadata: 'meta', header: 'meta', headers: 'meta', uuid: 'newuuid',
  regexp_like: 'regexp_matches', regex: 'regexp_matches', rlike: 'regexp_matches', split: 'split_value', md5sum: 'md5',
  ceiling: 'ceil', truncate: 'trunc', running_sum: 'acc_sum', cumsum: 'acc_sum', running_avg: 'acc_avg', delta: 'lag',
}

function builtins(): FunctionSpec[] {
  return [
    ...mathFunctions, ...stringFunctions, ...timeFunctions, ...jsonFunctions, ...hashFunctions,
    ...conversionFunctions, ...collectionFunctions, ...statefulFunctions, ...aggregateFunctions, ...windowFunctions,
  ]
}

const DEFAULT_REGISTRY = new FunctionRegistry(builtins())

/** array_map('upper', a): a one-argument scalar function of this registry applied to each member. */
function arrayMap(registry: FunctionRegistry): ScalarFunctionSpec {
  const oneArg = (name: unknown): ScalarFunctionSpec | undefined => {
    const spec = typeof name === 'string' ? registry.get(name) : undefined
    return spec?.kind === 'scalar' && spec.required <= 1 && (spec.params.length >= 1 || spec.variadic) && !spec.volatile ? spec : undefined
  }
  return {
    kind: 'scalar', name: 'array_map', summary: "each member through a one-argument function, by name: array_map('upper', a)",
    params: [param('function', 'string', true), param('array')], required: 2,
    check: (c) => (typeof c[0] === 'string' && !oneArg(c[0]) ? `array_map: '${c[0]}' is not a function of one argument` : undefined),
    impl: (a, ctx) => {
      const spec = oneArg(a[0])
      const list = a[1]
      if (!spec || !Array.isArray(list)) return null
      return list.map((v) => (v === null && !spec.nullSafe ? null : (spec.impl([v], ctx) ?? null)))
    },
  }
}
DEFAULT_REGISTRY.register(arrayMap(DEFAULT_REGISTRY))

/** The built-in functions. Treat as read-only; clone() to add your own. */
export function defaultFunctionRegistry(): FunctionRegistry {
  return DEFAULT_REGISTRY
}

/**
 * The aggregate factory: a fresh accumulator for `name` (count(*) when `star`), with the literal arguments
 * after the value (percentile's p, first_value's ignoreNull).
 */
export function createAccumulator(name: string, consts: ConstArgs = [], star = false, registry = DEFAULT_REGISTRY): Accumulator {
  const spec = registry.get(name)
  if (!spec || spec.kind !== 'aggregate') throw new Error(`${name} is not an aggregate function`)
  return (spec as AggregateFunctionSpec).create(consts, star)
}
