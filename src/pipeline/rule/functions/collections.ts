/**
 * Array and object functions, with eKuiper's results (its function reference): positions are 0-based, a null array
 * gives what each function documents (null, -1, 0 or false), elements compare as SQL values (1 and '1' differ).
 */
import {compareValues, deepEqual} from '../values.js'
import {asInteger, asString, param} from './define.js'
import type {FunctionContext, ScalarFunctionSpec} from './types.js'

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v)
const same = (a: unknown, b: unknown): boolean => a === b || deepEqual(a, b)
const arr = (name = 'array') => param(name)

function indexOfValue(list: readonly unknown[], v: unknown, fromEnd = false): number {
  if (fromEnd) {
    for (let i = list.length - 1; i >= 0; i--) if (same(list[i], v)) return i
    return -1
  }
  for (let i = 0; i < list.length; i++) if (same(list[i], v)) return i
  return -1
}

function distinct(list: readonly unknown[]): unknown[] {
  const out: unknown[] = []
  for (const v of list) if (indexOfValue(out, v) < 0) out.push(v)
  return out
}

/** eKuiper's array_sort order: numbers before strings, each in their natural order. */
function sortKey(a: unknown, b: unknown): number {
  const ta = typeof a === 'number' ? 0 : typeof a === 'string' ? 1 : 2
  const tb = typeof b === 'number' ? 0 : typeof b === 'string' ? 1 : 2
  if (ta !== tb) return ta - tb
  return compareValues(a, b) ?? 0
}

function scalar(
  name: string,
  summary: string,
  params: ScalarFunctionSpec['params'],
  impl: (a: readonly unknown[], ctx: FunctionContext) => unknown,
  extra: Partial<ScalarFunctionSpec> = {},
): ScalarFunctionSpec {
  return {kind: 'scalar', name, summary, params, required: extra.required ?? params.length, nullSafe: true, impl, ...extra}
}

const arrayFunctions: ScalarFunctionSpec[] = [
  scalar('cardinality', 'number of members of the array (null: 0)', [arr()], (a) => (Array.isArray(a[0]) ? a[0].length : 0)),
  scalar('array_cardinality', 'number of non-null members of the array (null: 0)', [arr()], (a) =>
    Array.isArray(a[0]) ? a[0].filter((v) => v !== null && v !== undefined).length : 0,
  ),
  scalar('array_position', '0-based index of the first member equal to value, -1 when absent', [arr(), param('value')], (a) =>
    Array.isArray(a[0]) ? indexOfValue(a[0], a[1]) : -1,
  ),
  scalar('array_last_position', '0-based index of the last member equal to value, -1 when absent', [arr(), param('value')], (a) =>
    Array.isArray(a[0]) ? indexOfValue(a[0], a[1], true) : -1,
  ),
  scalar('element_at', 'the member at index (negative from the end), or an object\'s value at a key', [arr(), param('index')], (a) => {
    const [list, i] = a
    if (isObj(list)) return typeof i === 'string' ? (list[i] ?? null) : null
    const n = asInteger(i)
    if (!Array.isArray(list) || n === null) return null
    const k = n < 0 ? list.length + n : n
    return k >= 0 && k < list.length ? (list[k] ?? null) : null
  }),
  scalar('array_contains', 'true when the array has a member equal to value (null array: false)', [arr(), param('value')], (a) =>
    Array.isArray(a[0]) ? indexOfValue(a[0], a[1]) >= 0 : false,
  ),
  scalar('array_contains_any', 'true when the arrays share a member', [arr('array1'), arr('array2')], (a) => {
    const [x, y] = a
    if (!Array.isArray(x) || !Array.isArray(y)) return false
    return x.some((v) => indexOfValue(y, v) >= 0)
  }),
  scalar('array_create', 'an array of the non-null arguments', [param('value')], (a) => {
    const out = a.filter((v) => v !== null && v !== undefined)
    return out.length === 0 && a.length > 0 ? null : out
  }, {required: 0, variadic: param('value')}),
  scalar('array_remove', 'the array without the members equal to value', [arr(), param('value')], (a) =>
    Array.isArray(a[0]) ? a[0].filter((v) => !same(v, a[1])) : null,
  ),
  scalar('array_intersect', 'members of both arrays, without duplicates', [arr('array1'), arr('array2')], (a) => {
    const [x, y] = a
    if (!Array.isArray(x) || !Array.isArray(y)) return null
    return distinct(x.filter((v) => indexOfValue(y, v) >= 0))
  }),
  scalar('array_union', 'members of either array, without duplicates', [arr('array1'), arr('array2')], (a) => {
    const [x, y] = a
    if (!Array.isArray(x) && !Array.isArray(y)) return null
    return distinct([...(Array.isArray(x) ? x : []), ...(Array.isArray(y) ? y : [])])
  }),
  scalar('array_except', 'members of array1 not in array2, without duplicates', [arr('array1'), arr('array2')], (a) => {
    const [x, y] = a
    if (!Array.isArray(x)) return null
    const other = Array.isArray(y) ? y : []
    return distinct(x.filter((v) => indexOfValue(other, v) < 0))
  }),
  scalar('array_max', 'the greatest member (nulls ignored)', [arr()], (a) => extreme(a[0], 1)),
  scalar('array_min', 'the smallest member (nulls ignored)', [arr()], (a) => extreme(a[0], -1)),
  scalar('repeat', 'an array of value repeated count times', [param('value'), param('count', 'number')], (a) => {
    const n = asInteger(a[1])
    return n === null || n < 0 || n > 100_000 ? null : new Array<unknown>(n).fill(a[0] ?? null)
  }),
  scalar('sequence', 'integers from start to stop (inclusive) by step (default 1 or -1)', [param('start', 'number'), param('stop', 'number'), param('step', 'number')], (a) => {
    const start = asInteger(a[0])
    const stop = asInteger(a[1])
    if (start === null || stop === null) return null
    const step = a.length > 2 ? asInteger(a[2]) : stop >= start ? 1 : -1
    if (step === null || step === 0 || (stop - start) / step < 0 || Math.abs((stop - start) / step) > 100_000) return null
    const out: number[] = []
    for (let v = start; step > 0 ? v <= stop : v >= stop; v += step) out.push(v)
    return out
  }, {required: 2}),
  scalar('array_flatten', 'members of the member arrays, one level', [arr()], (a) => {
    if (!Array.isArray(a[0])) return null
    const out: unknown[] = []
    for (const v of a[0]) {
      if (Array.isArray(v)) out.push(...v)
      else out.push(v)
    }
    return out
  }),
  scalar('array_distinct', 'the array without duplicates', [arr()], (a) => (Array.isArray(a[0]) ? distinct(a[0]) : null)),
  scalar('array_join', 'members joined by delimiter (nulls replaced, or skipped without a replacement)', [arr(), param('delimiter', 'string'), param('nullReplacement', 'string')], (a) => {
    const [list, sep, nullText] = a
    if (!Array.isArray(list) || typeof sep !== 'string') return null
    const parts: string[] = []
    for (const v of list) {
      if (v === null || v === undefined) {
        if (typeof nullText === 'string') parts.push(nullText)
      } else parts.push(typeof v === 'object' ? JSON.stringify(v) : String(v))
    }
    return parts.join(sep)
  }, {required: 2}),
  scalar('array_shuffle', 'the members in random order', [arr()], (a) => {
    if (!Array.isArray(a[0])) return null
    const out = [...a[0]]
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[out[i], out[j]] = [out[j], out[i]]
    }
    return out
  }, {volatile: true}),
  scalar('array_concat', 'the arrays one after the other (null counts as empty)', [arr()], (a) => {
    const out: unknown[] = []
    for (const v of a) if (Array.isArray(v)) out.push(...v)
    return out
  }, {variadic: arr()}),
  scalar('array_sort', 'a sorted copy (numbers, then strings)', [arr()], (a) => (Array.isArray(a[0]) ? [...a[0]].sort(sortKey) : null)),
  scalar('kvpair_array_to_obj', 'an object from [{key, value}, …]', [arr()], (a) => {
    if (!Array.isArray(a[0])) return null
    const out: Obj = {}
    for (const e of a[0]) if (isObj(e) && typeof e.key === 'string') out[e.key] = e.value ?? null
    return out
  }),
]

function extreme(list: unknown, sign: 1 | -1): unknown {
  if (!Array.isArray(list)) return null
  let best: unknown = null
  for (const v of list) {
    if (v === null || v === undefined) continue
    if (best === null) best = v
    else {
      const c = compareValues(v, best)
      if (c !== null && c * sign > 0) best = v
    }
  }
  return best
}

const objectFunctions: ScalarFunctionSpec[] = [
  scalar('object_size', 'number of keys of the object (null: 0)', [param('obj')], (a) => (isObj(a[0]) ? Object.keys(a[0]).length : 0)),
  scalar('keys', 'the keys of the object', [param('obj')], (a) => (isObj(a[0]) ? Object.keys(a[0]) : null)),
  scalar('values', 'the values of the object', [param('obj')], (a) => (isObj(a[0]) ? Object.values(a[0]) : null)),
  scalar('items', 'the [key, value] pairs of the object', [param('obj')], (a) => (isObj(a[0]) ? Object.entries(a[0]) : null)),
  scalar('object', 'an object from an array of keys and an array of values', [param('keys'), param('values')], (a) => {
    const [k, v] = a
    if (!Array.isArray(k) || !Array.isArray(v) || k.length !== v.length || !k.every((x) => typeof x === 'string')) return null
    return Object.fromEntries(k.map((key, i) => [key, v[i]]))
  }),
  scalar('zip', 'an object from [[key, value], …]', [param('entries')], (a) => {
    if (!Array.isArray(a[0])) return null
    const out: Obj = {}
    for (const e of a[0]) {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') return null
      out[e[0]] = e[1]
    }
    return out
  }),
  scalar('object_construct', 'an object from key, value, key, value… (null values left out)', [param('key', 'string'), param('value')], (a) => {
    const out: Obj = {}
    for (let i = 0; i + 1 < a.length; i += 2) {
      const k = asString(a[i])
      if (k === null) return null
      if (a[i + 1] !== null && a[i + 1] !== undefined) out[k] = a[i + 1]
    }
    return out
  }, {required: 0, variadic: param('keyOrValue'), check: (c) => (c.length % 2 === 1 ? 'object_construct() takes key, value pairs (an even number of arguments)' : undefined)}),
  scalar('object_concat', 'the objects merged; later keys win', [param('obj1'), param('obj2')], (a) => {
    const out: Obj = {}
    for (const o of a) if (isObj(o)) Object.assign(out, o)
    return out
  }, {required: 1, variadic: param('obj')}),
  scalar('erase', 'the object without key k (or the keys in array k)', [param('obj'), param('k')], (a) => {
    const [o, k] = a
    if (!isObj(o)) return null
    const drop = new Set(Array.isArray(k) ? k : [k])
    return Object.fromEntries(Object.entries(o).filter(([key]) => !drop.has(key)))
  }),
  scalar('object_pick', 'the object with only key k (or the keys in array k)', [param('obj'), param('k')], (a) => {
    const [o, ...ks] = a
    if (!isObj(o)) return null
    const keep = new Set(ks.flatMap((k) => (Array.isArray(k) ? k : [k])))
    return Object.fromEntries(Object.entries(o).filter(([key]) => keep.has(key)))
  }, {variadic: param('k')}),
  scalar('obj_to_kvpair_array', 'the object as [{key, value}, …]', [param('obj')], (a) =>
    isObj(a[0]) ? Object.entries(a[0]).map(([key, value]) => ({key, value})) : null,
  ),
]

export const collectionFunctions: ScalarFunctionSpec[] = [...arrayFunctions, ...objectFunctions]
