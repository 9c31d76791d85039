/**
 * Time functions. Timestamps are epoch milliseconds (ISO-8601 strings are accepted as input); formatting is UTC.
 * now() and tstamp() read the injected clock, so tests and replays control them.
 */
import {toEpochMs} from '../values.js'
import {asInteger, asNumber, asString, num, param, str} from './define.js'
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

/**
 * A date argument as epoch ms: a number (epoch ms), ISO-8601 text, or eKuiper's `YYYY-MM-DD[ HH:mm:ss[.fff]]`, which
 * is read as UTC (never the machine's zone).
 */
export function dateArg(v: unknown): number | null {
  if (typeof v === 'string') {
    const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$/.exec(v.trim())
    if (m) {
      const ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}Z`)
      return Number.isNaN(ms) ? null : ms
    }
  }
  return toEpochMs(v)
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const DAY_MS = 86_400_000

function datePart(name: string, summary: string, fn: (d: Date) => unknown): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [param('date')], required: 1,
    impl: (a) => {
      const ms = dateArg(a[0])
      return ms === null ? null : fn(new Date(ms))
    },
  }
}

function clock(name: string, summary: string, pattern: string): ScalarFunctionSpec {
  return {kind: 'scalar', name, summary, params: [], required: 0, volatile: true, impl: (_a, ctx) => formatTime(ctx.now(), pattern)}
}

/** Go-style durations as eKuiper's date_calc reads them: `1h30m`, `-24h`, `10s100ms`, `200us`, `300ns`. */
export function parseGoDuration(text: string): number | null {
  const m = /^([+-])?((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text.trim())
  if (!m) return null
  const unit: Record<string, number> = {ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000}
  let ms = 0
  for (const part of m[2].matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(part[1]) * unit[part[2]]
  return m[1] === '-' ? -ms : ms
}

/** MySQL's day numbers (from_days): day 1 is 0000-01-01 in the proleptic Gregorian calendar; 719528 is 1970-01-01. */
const UNIX_EPOCH_DAY = 719_528

const dateFunctions: ScalarFunctionSpec[] = [
  clock('current_timestamp', "the current UTC time as 'YYYY-MM-DD HH:mm:ss'", 'YYYY-MM-DD HH:mm:ss'),
  clock('local_time', "the current UTC time as 'YYYY-MM-DD HH:mm:ss' (eKuiper synonym of now)", 'YYYY-MM-DD HH:mm:ss'),
  clock('local_timestamp', "the current UTC time as 'YYYY-MM-DD HH:mm:ss' (eKuiper synonym of now)", 'YYYY-MM-DD HH:mm:ss'),
  clock('cur_date', "today's UTC date as 'YYYY-MM-DD'", 'YYYY-MM-DD'),
  clock('current_date', "today's UTC date as 'YYYY-MM-DD'", 'YYYY-MM-DD'),
  clock('cur_time', "the current UTC time of day as 'HH:mm:ss'", 'HH:mm:ss'),
  clock('current_time', "the current UTC time of day as 'HH:mm:ss'", 'HH:mm:ss'),
  {
    kind: 'scalar', name: 'date_calc', summary: "date moved by a duration ('1h30m', '-24h') as 'YYYY-MM-DD HH:mm:ss'",
    params: [param('date'), str('duration')], required: 2,
    check: (c) => (typeof c[1] === 'string' && parseGoDuration(c[1]) === null ? `date_calc: '${c[1]}' is not a duration such as '1h30m' or '-24h'` : undefined),
    impl: (a) => {
      const ms = dateArg(a[0])
      const d = typeof a[1] === 'string' ? parseGoDuration(a[1]) : null
      return ms === null || d === null ? null : formatTime(ms + d, 'YYYY-MM-DD HH:mm:ss')
    },
  },
  {
    kind: 'scalar', name: 'date_diff', summary: 'days from date1 to date2 (fractional)', params: [param('date1'), param('date2')], required: 2,
    impl: (a) => {
      const x = dateArg(a[0])
      const y = dateArg(a[1])
      return x === null || y === null ? null : (y - x) / DAY_MS
    },
  },
  datePart('day_name', 'weekday name (UTC): Monday…', (d) => DAY_NAMES[d.getUTCDay()]),
  datePart('day_of_month', 'day of the month, 1..31 (UTC)', (d) => d.getUTCDate()),
  datePart('day', 'day of the month, 1..31 (UTC)', (d) => d.getUTCDate()),
  datePart('day_of_week', 'day of the week, Sunday = 1 … Saturday = 7 (UTC)', (d) => d.getUTCDay() + 1),
  datePart('day_of_year', 'day of the year, 1..366 (UTC)', (d) => Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / DAY_MS) + 1),
  datePart('hour', 'hour, 0..23 (UTC)', (d) => d.getUTCHours()),
  datePart('minute', 'minute, 0..59', (d) => d.getUTCMinutes()),
  datePart('second', 'second, 0..59', (d) => d.getUTCSeconds()),
  datePart('microsecond', 'microseconds within the second (millisecond precision here)', (d) => d.getUTCMilliseconds() * 1000),
  datePart('month', 'month, 1..12 (UTC)', (d) => d.getUTCMonth() + 1),
  datePart('month_name', 'month name (UTC): January…', (d) => MONTH_NAMES[d.getUTCMonth()]),
  datePart('last_day', "the last day of date's month as 'YYYY-MM-DD'", (d) => formatTime(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0), 'YYYY-MM-DD')),
  {
    kind: 'scalar', name: 'from_days', summary: "MySQL day number as 'YYYY-MM-DD' (719528 is 1970-01-01)", params: [num('days')], required: 1,
    impl: (a) => {
      const n = asInteger(a[0])
      return n === null || n < 366 ? null : formatTime((n - UNIX_EPOCH_DAY) * DAY_MS, 'YYYY-MM-DD')
    },
  },
  {
    kind: 'scalar', name: 'from_unix_time', summary: "epoch seconds as 'YYYY-MM-DD HH:mm:ss' (UTC)", params: [num('seconds')], required: 1,
    impl: (a) => {
      const n = asNumber(a[0])
      return n === null ? null : formatTime(n * 1000, 'YYYY-MM-DD HH:mm:ss')
    },
  },
]

export const timeFunctions: ScalarFunctionSpec[] = [
  ...dateFunctions,
  {kind: 'scalar', name: 'now', summary: 'the current time in epoch milliseconds', params: [], required: 0, volatile: true, impl: (_a, ctx) => ctx.now()},
  {kind: 'scalar', name: 'tstamp', summary: 'the current time in epoch milliseconds (eKuiper name)', params: [], required: 0, volatile: true, impl: (_a, ctx) => ctx.now()},
  {
    kind: 'scalar', name: 'format_time', summary: "ts formatted in UTC, e.g. format_time(ts, 'YYYY-MM-DD HH:mm:ss')",
    params: [param('ts'), str('pattern')], required: 2,
    impl: (a) => {
      const ms = dateArg(a[0])
      const pattern = asString(a[1])
      return ms === null || pattern === null ? null : formatTime(ms, pattern)
    },
  },
  {
    kind: 'scalar', name: 'to_seconds', summary: 'ts in whole epoch seconds',
    params: [param('ts')], required: 1,
    impl: (a) => {
      const ms = dateArg(a[0])
      return ms === null ? null : Math.floor(ms / 1000)
    },
  },
  {
    kind: 'scalar', name: 'to_millis', summary: 'ts (number or ISO-8601 text) in epoch milliseconds',
    params: [param('ts')], required: 1,
    impl: (a) => dateArg(a[0]),
  },
]
