/**
 * Time functions. Timestamps are epoch milliseconds (ISO-8601 strings are accepted as input); formatting is UTC.
 * now() and tstamp() read the injected clock, so tests and replays control them.
 */
import {toEpochMs} from '../values.js'
import {asString, param, str} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

type Part = string | ((d: Date) => string)

const pad = (n: number, w = 2): string => String(n).padStart(w, '0')

/** Both the moment.js style (YYYY-MM-DD) and the Java style eKuiper documents (yyyy-MM-dd) are understood. */
const TOKENS: Record<string, (d: Date) => string> = {
  YYYY: (d) => pad(d.getUTCFullYear(), 4),
  yyyy: (d) => pad(d.getUTCFullYear(), 4),
  YY: (d) => pad(d.getUTCFullYear() % 100),
  yy: (d) => pad(d.getUTCFullYear() % 100),
  MM: (d) => pad(d.getUTCMonth() + 1),
  DD: (d) => pad(d.getUTCDate()),
  dd: (d) => pad(d.getUTCDate()),
  HH: (d) => pad(d.getUTCHours()),
  mm: (d) => pad(d.getUTCMinutes()),
  ss: (d) => pad(d.getUTCSeconds()),
  SSS: (d) => pad(d.getUTCMilliseconds(), 3),
}

const TOKEN_RE = /YYYY|yyyy|YY|yy|MM|DD|dd|HH|mm|ss|SSS|'[^']*'|[\s\S]/g

const FORMAT_CACHE = new Map<string, Part[]>()

/** Splits a pattern once into literal text and field formatters (cached: patterns are nearly always literals). */
export function compileTimeFormat(pattern: string): Part[] {
  let parts = FORMAT_CACHE.get(pattern)
  if (parts) return parts
  parts = []
  for (const m of pattern.matchAll(TOKEN_RE)) {
    const tok = m[0]
    const fn = TOKENS[tok]
    if (fn) parts.push(fn)
    else parts.push(tok.length > 1 && tok.startsWith("'") ? tok.slice(1, -1) : tok)
  }
  if (FORMAT_CACHE.size >= 256) FORMAT_CACHE.clear()
  FORMAT_CACHE.set(pattern, parts)
  return parts
}

export function formatTime(ms: number, pattern: string): string {
  const d = new Date(ms)
  let out = ''
  for (const p of compileTimeFormat(pattern)) out += typeof p === 'string' ? p : p(d)
  return out
}

export const timeFunctions: ScalarFunctionSpec[] = [
  {kind: 'scalar', name: 'now', summary: 'the current time in epoch milliseconds', params: [], required: 0, volatile: true, impl: (_a, ctx) => ctx.now()},
  {kind: 'scalar', name: 'tstamp', summary: 'the current time in epoch milliseconds (eKuiper name)', params: [], required: 0, volatile: true, impl: (_a, ctx) => ctx.now()},
  {
    kind: 'scalar', name: 'format_time', summary: "ts formatted in UTC, e.g. format_time(ts, 'YYYY-MM-DD HH:mm:ss')",
    params: [param('ts'), str('pattern')], required: 2,
    impl: (a) => {
      const ms = toEpochMs(a[0])
      const pattern = asString(a[1])
      return ms === null || pattern === null ? null : formatTime(ms, pattern)
    },
  },
  {
    kind: 'scalar', name: 'to_seconds', summary: 'ts in whole epoch seconds',
    params: [param('ts')], required: 1,
    impl: (a) => {
      const ms = toEpochMs(a[0])
      return ms === null ? null : Math.floor(ms / 1000)
    },
  },
  {
    kind: 'scalar', name: 'to_millis', summary: 'ts (number or ISO-8601 text) in epoch milliseconds',
    params: [param('ts')], required: 1,
    impl: (a) => toEpochMs(a[0]),
  },
]
