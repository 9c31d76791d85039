/** cast(), coalesce() and newuuid(). */
import {param} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

export type CastTarget = 'float' | 'bigint' | 'string' | 'boolean'

/** eKuiper's names plus the obvious aliases. `bigint` is a whole JavaScript number, not a BigInt. */
const CAST_TARGETS: Record<string, CastTarget> = {
  float: 'float', double: 'float', number: 'float',
  bigint: 'bigint', int: 'bigint', integer: 'bigint',
  string: 'string', text: 'string',
  boolean: 'boolean', bool: 'boolean',
}

function toFloat(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'string') {
    const t = v.trim()
    if (t === '') return null
    const n = Number(t)
    return Number.isFinite(n) ? n : null
  }
  return null
}

export function castValue(v: unknown, target: CastTarget): unknown {
  if (v === null || v === undefined) return null
  switch (target) {
    case 'float':
      return toFloat(v)
    case 'bigint': {
      const n = toFloat(v)
      return n === null ? null : Math.trunc(n)
    }
    case 'string':
      return typeof v === 'object' ? JSON.stringify(v) : String(v)
    case 'boolean':
      if (typeof v === 'boolean') return v
      if (typeof v === 'number') return v !== 0
      if (typeof v === 'string') {
        const t = v.trim().toLowerCase()
        if (t === 'true' || t === '1') return true
        if (t === 'false' || t === '0') return false
      }
      return null
  }
}

export const conversionFunctions: ScalarFunctionSpec[] = [
  {
    kind: 'scalar', name: 'cast', summary: "x converted to 'float', 'bigint', 'string' or 'boolean' (null when it does not convert)",
    params: [param('x'), param('type', 'string', true)], required: 2,
    check: (c) => (typeof c[1] === 'string' && !(c[1].toLowerCase() in CAST_TARGETS)
      ? `cast: unknown type '${c[1]}' (use 'float', 'bigint', 'string' or 'boolean')` : undefined),
    impl: (a) => {
      const target = typeof a[1] === 'string' ? CAST_TARGETS[a[1].toLowerCase()] : undefined
      return target === undefined ? null : castValue(a[0], target)
    },
  },
  {
    kind: 'scalar', name: 'coalesce', summary: 'the first argument that is not null',
    params: [param('a')], required: 1, variadic: param('more'), nullSafe: true,
    impl: (a) => {
      for (let i = 0; i < a.length; i++) if (a[i] !== null && a[i] !== undefined) return a[i]
      return null
    },
  },
  {
    kind: 'scalar', name: 'newuuid', summary: 'a random UUID (v4)', params: [], required: 0, volatile: true,
    impl: (_a, ctx) => ctx.randomUUID(),
  },
]
