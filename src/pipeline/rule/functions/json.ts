/** JSON functions: to_json, parse_json and a small JSONPath subset ($, .name, ['name'], [n]). */
import {asString, param, str} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

type PathStep = string | number

const PATH_CACHE = new Map<string, PathStep[] | null>()

/** Parses `$.a.b[0]['c d']` into steps; null when the path is outside the supported subset. */
export function parseJsonPath(path: string): PathStep[] | null {
  const cached = PATH_CACHE.get(path)
  if (cached !== undefined) return cached
  let steps: PathStep[] | null = []
  const re = /\.([A-Za-z_$][\w$]*)|\[(-?\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\["((?:[^"\\]|\\.)*)"\]/y
  if (!path.startsWith('$')) steps = null
  else {
    let pos = 1
    while (pos < path.length) {
      re.lastIndex = pos
      const m = re.exec(path)
      if (!m) {
        steps = null
        break
      }
      if (m[1] !== undefined) steps.push(m[1])
      else if (m[2] !== undefined) steps.push(Number(m[2]))
      else steps.push((m[3] ?? m[4]).replace(/\\(.)/g, '$1'))
      pos = re.lastIndex
    }
  }
  if (PATH_CACHE.size >= 256) PATH_CACHE.clear()
  PATH_CACHE.set(path, steps)
  return steps
}

export function walkPath(value: unknown, steps: readonly PathStep[]): unknown {
  let v = value
  for (const step of steps) {
    if (v === null || typeof v !== 'object') return null
    if (typeof step === 'number') {
      if (!Array.isArray(v)) return null
      v = v[step < 0 ? v.length + step : step]
    } else {
      v = Array.isArray(v) ? undefined : (v as Record<string, unknown>)[step]
    }
  }
  return v === undefined ? null : v
}

/** The value (parsed first when it is JSON text) at a path, or undefined when the path leads nowhere. */
function atPath(x: unknown, path: unknown): unknown {
  const steps = typeof path === 'string' ? parseJsonPath(path) : null
  if (steps === null) return undefined
  let v = x
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v) as unknown
    } catch {
      return undefined
    }
  }
  for (const step of steps) {
    if (v === null || typeof v !== 'object') return undefined
    if (typeof step === 'number') {
      if (!Array.isArray(v)) return undefined
      v = v[step < 0 ? v.length + step : step]
    } else v = Array.isArray(v) ? undefined : (v as Record<string, unknown>)[step]
  }
  return v
}

const checkPath = (c: readonly unknown[]): string | undefined =>
  typeof c[1] === 'string' && parseJsonPath(c[1]) === null ? `'${c[1]}' is not a supported JSONPath (use $, .name, ['name'], [n])` : undefined

export const jsonFunctions: ScalarFunctionSpec[] = [
  {
    kind: 'scalar', name: 'json_path_exists', summary: 'true when the JSONPath leads to a value', params: [param('x'), str('path')], required: 2,
    check: checkPath, impl: (a) => atPath(a[0], a[1]) !== undefined,
  },
  {
    kind: 'scalar', name: 'json_path_query_first', summary: 'the value at a JSONPath (the first, for paths that select several)', params: [param('x'), str('path')], required: 2,
    check: checkPath, impl: (a) => atPath(a[0], a[1]) ?? null,
  },
  {
    kind: 'scalar', name: 'to_json', summary: 'x as JSON text', params: [param('x')], required: 1, nullSafe: true,
    impl: (a) => {
      try {
        return JSON.stringify(a[0] ?? null) ?? null
      } catch {
        return null
      }
    },
  },
  {
    kind: 'scalar', name: 'parse_json', summary: 'the value of JSON text (null when it is not JSON)', params: [str()], required: 1,
    impl: (a) => {
      const s = asString(a[0])
      if (s === null) return null
      try {
        return JSON.parse(s) as unknown
      } catch {
        return null
      }
    },
  },
  {
    kind: 'scalar', name: 'json_path_query', summary: "the value at a JSONPath ($.a.b[0]); JSON text is parsed first",
    params: [param('x'), str('path')], required: 2,
    check: (c) => (typeof c[1] === 'string' && parseJsonPath(c[1]) === null
      ? `'${c[1]}' is not a supported JSONPath (use $, .name, ['name'], [n])` : undefined),
    impl: (a) => {
      const path = asString(a[1])
      const steps = path === null ? null : parseJsonPath(path)
      if (steps === null) return null
      let v = a[0]
      if (typeof v === 'string') {
        try {
          v = JSON.parse(v) as unknown
        } catch {
          return null
        }
      }
      return walkPath(v, steps)
    },
  },
]
