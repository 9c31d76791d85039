/** cast(), coalesce(), isnull(), newuuid() and eKuiper's transform functions (encode, compress, trunc, hex…). */
import {deflateRawSync, deflateSync, gzipSync, gunzipSync, inflateRawSync, inflateSync} from 'node:zlib'
import {roundTo} from './math.js'
import {asInteger, asNumber, asString, num, param, str} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

export type CastTarget = 'float' | 'bigint' | 'string' | 'boolean' | 'datetime'

/** eKuiper's names plus the obvious aliases. `bigint` is a whole JavaScript number, not a BigInt. */
const CAST_TARGETS: Record<string, CastTarget> = {
  float: 'float', double: 'float', number: 'float',
  bigint: 'bigint', int: 'bigint', integer: 'bigint',
  string: 'string', text: 'string',
  boolean: 'boolean', bool: 'boolean',
  datetime: 'datetime',
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
    case 'datetime': {
      // No datetime type here: an ISO-8601 UTC text, from epoch ms or from any text Date.parse reads.
      const ms = typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : Number.NaN
      return Number.isFinite(ms) ? new Date(ms).toISOString() : null
    }
  }
}

const COMPRESSORS: Record<string, {compress(b: Buffer): Buffer; decompress(b: Buffer): Buffer}> = {
  zlib: {compress: (b) => deflateSync(b), decompress: (b) => inflateSync(b)},
  gzip: {compress: (b) => gzipSync(b), decompress: (b) => gunzipSync(b)},
  flate: {compress: (b) => deflateRawSync(b), decompress: (b) => inflateRawSync(b)},
}

/** Binary values travel as base64 text (JSON has no bytes); text input to compress is its UTF-8. */
function compressionCheck(c: readonly unknown[]): string | undefined {
  return typeof c[1] === 'string' && !(c[1] in COMPRESSORS) ? `unknown compression method '${c[1]}' (use 'zlib', 'gzip' or 'flate')` : undefined
}

export const conversionFunctions: ScalarFunctionSpec[] = [
  {
    kind: 'scalar', name: 'cast', summary: "x converted to 'float', 'bigint', 'string', 'boolean' or 'datetime' (null when it does not convert)",
    params: [param('x'), param('type', 'string', true)], required: 2,
    check: (c) => (typeof c[1] === 'string' && !(c[1].toLowerCase() in CAST_TARGETS)
      ? `cast: unknown type '${c[1]}' (use 'float', 'bigint', 'string', 'boolean' or 'datetime')` : undefined),
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
    kind: 'scalar', name: 'isnull', summary: 'true when x is null or missing', params: [param('x')], required: 1, nullSafe: true,
    impl: (a) => a[0] === null || a[0] === undefined,
  },
  {
    kind: 'scalar', name: 'encode', summary: "s encoded as 'base64'", params: [param('s'), str('type')], required: 2,
    check: (c) => (typeof c[1] === 'string' && c[1] !== 'base64' ? `encode: only 'base64' is supported` : undefined),
    impl: (a) => {
      const v = a[0]
      const text = typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
      return a[1] === 'base64' ? Buffer.from(text, 'utf8').toString('base64') : null
    },
  },
  {
    kind: 'scalar', name: 'decode', summary: "base64 text decoded", params: [str(), str('type')], required: 2,
    check: (c) => (typeof c[1] === 'string' && c[1] !== 'base64' ? `decode: only 'base64' is supported` : undefined),
    impl: (a) => {
      const s = asString(a[0])
      return s === null || a[1] !== 'base64' ? null : Buffer.from(s, 'base64').toString('utf8')
    },
  },
  {
    kind: 'scalar', name: 'compress', summary: "s compressed with 'zlib', 'gzip' or 'flate' (as base64 text)", params: [param('s'), str('method')], required: 2,
    check: compressionCheck,
    impl: (a) => {
      const c = typeof a[1] === 'string' ? COMPRESSORS[a[1]] : undefined
      const v = a[0]
      if (!c) return null
      return c.compress(Buffer.from(typeof v === 'string' ? v : JSON.stringify(v), 'utf8')).toString('base64')
    },
  },
  {
    kind: 'scalar', name: 'decompress', summary: "base64 text decompressed with 'zlib', 'gzip' or 'flate'", params: [str(), str('method')], required: 2,
    check: compressionCheck,
    impl: (a) => {
      const c = typeof a[1] === 'string' ? COMPRESSORS[a[1]] : undefined
      const s = asString(a[0])
      if (!c || s === null) return null
      try {
        return c.decompress(Buffer.from(s, 'base64')).toString('utf8')
      } catch {
        return null
      }
    },
  },
  {
    kind: 'scalar', name: 'trunc', summary: 'x cut (not rounded) to d decimals (0..34)', params: [num(), num('d')], required: 2,
    impl: (a) => {
      const x = asNumber(a[0])
      const d = asInteger(a[1])
      if (x === null || d === null) return null
      const places = Math.min(34, Math.max(0, d))
      const f = 10 ** Math.min(places, 15)
      const cut = Math.trunc(roundTo(x * f, 6)) / f
      return Number.isFinite(cut) ? cut : null
    },
  },
  {
    kind: 'scalar', name: 'chr', summary: 'the character with code n', params: [param('n')], required: 1,
    impl: (a) => {
      const v = a[0]
      if (typeof v === 'string') return v.length === 1 ? v : null
      const n = asInteger(v)
      return n === null || n < 0 || n > 0x10ffff ? null : String.fromCodePoint(n)
    },
  },
  {
    kind: 'scalar', name: 'hex2dec', summary: "the number of hexadecimal text ('0x10' or '10' is 16)", params: [str()], required: 1,
    impl: (a) => {
      const s = asString(a[0])
      if (s === null) return null
      const hex = s.replace(/^0x/i, '')
      return /^[0-9a-f]+$/i.test(hex) ? Number.parseInt(hex, 16) : null
    },
  },
  {
    kind: 'scalar', name: 'dec2hex', summary: "n as hexadecimal text (16 is '0x10')", params: [num()], required: 1,
    impl: (a) => {
      const n = asInteger(a[0])
      return n === null ? null : `${n < 0 ? '-' : ''}0x${Math.abs(n).toString(16)}`
    },
  },
  {
    kind: 'scalar', name: 'newuuid', summary: 'a random UUID (v4)', params: [], required: 0, volatile: true,
    impl: (_a, ctx) => ctx.randomUUID(),
  },
]
