/**
 * The function registry: the planner looks names up here (arity, literal and type checks), compiled expressions
 * call the implementations. A pipeline may extend a copy of the default registry; the default is never mutated.
 */
import type {ConstArgs} from './types.js'
import {aggregateFunctions} from './aggregates.js'
import {conversionFunctions} from './conversion.js'
import {hashFunctions} from './hash.js'
import {jsonFunctions} from './json.js'
import {mathFunctions} from './math.js'
import {statefulFunctions} from './stateful.js'
import {stringFunctions} from './string.js'
import {timeFunctions} from './time.js'
import type {Accumulator, AggregateFunctionSpec, FunctionSpec, WindowFunctionSpec} from './types.js'
import {boundedDistance} from '../../../config/did-you-mean.js'

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

  /** The closest known name within edit distance 2, for "did you mean" hints. */
  suggest(name: string): string | undefined {
    let best: string | undefined
    let bestDistance = 3
    for (const candidate of this.specs.keys()) {
      const d = editDistance(name.toLowerCase(), candidate, bestDistance)
      if (d < bestDistance) {
        best = candidate
        bestDistance = d
      }
    }
    return best
  }
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit` (config/did-you-mean.ts). */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  return boundedDistance(a, b, limit)
}

function builtins(): FunctionSpec[] {
  return [
    ...mathFunctions, ...stringFunctions, ...timeFunctions, ...jsonFunctions, ...hashFunctions,
    ...conversionFunctions, ...statefulFunctions, ...aggregateFunctions, ...windowFunctions,
  ]
}

const DEFAULT_REGISTRY = new FunctionRegistry(builtins())

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
