/**
 * SQL value semantics shared by compiled expressions, functions and aggregates: null (and a missing field, which
 * JavaScript sees as undefined) is "unknown", numbers compare as numbers, strings as strings, and values of
 * different types never compare as ordered.
 */

export function isNullish(v: unknown): v is null | undefined {
  return v === null || v === undefined
}

/** Three-valued truth: true, false or null (unknown). Non-boolean values follow JavaScript truthiness. */
export function truth(v: unknown): boolean | null {
  if (v === true || v === false) return v
  if (v === null || v === undefined) return null
  return Boolean(v)
}

/**
 * Orders two non-null values: negative, zero or positive; null when they cannot be ordered (different types,
 * objects, NaN, or either is null).
 */
export function compareValues(a: unknown, b: unknown): number | null {
  const ta = typeof a
  if (ta !== typeof b || a === null || b === null) return null
  if (ta === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return null
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
  }
  if (ta === 'string') return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0
  if (ta === 'boolean') return Number(a) - Number(b)
  if (ta === 'bigint') return (a as bigint) < (b as bigint) ? -1 : (a as bigint) > (b as bigint) ? 1 : 0
  return null
}

/** SQL `=`: null when either side is null; values of different types are simply unequal. */
export function sqlEquals(a: unknown, b: unknown): boolean | null {
  if (a === null || a === undefined || b === null || b === undefined) return null
  if (a === b) return true
  if (typeof a === 'object' && typeof b === 'object') return deepEqual(a, b)
  return false
}

/** Structural equality of JSON-like values (arrays and plain objects from decoded payloads). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k)) return false
    if (!deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false
  }
  return true
}

/** A finite number or null: the result type of arithmetic (division by zero, overflow and NaN give null). */
export function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null
}

/** A millisecond timestamp from an epoch-ms number, an ISO-8601 string or a Date; null otherwise. */
export function toEpochMs(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null
  if (typeof v === 'string') {
    const ms = Date.parse(v)
    return Number.isNaN(ms) ? null : ms
  }
  if (v instanceof Date) {
    const ms = v.getTime()
    return Number.isNaN(ms) ? null : ms
  }
  return null
}
