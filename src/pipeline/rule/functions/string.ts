/** String functions. Positions are 0-based and count UTF-16 code units, like JavaScript. */
import {asInteger, asNumber, asString, num, param, str} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

function stringUnary(name: string, summary: string, fn: (s: string) => unknown): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [str()], required: 1,
    impl: (a) => {
      const s = asString(a[0])
      return s === null ? null : fn(s)
    },
  }
}

function stringBinary(name: string, summary: string, names: [string, string], fn: (s: string, t: string) => unknown): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [str(names[0]), str(names[1])], required: 2,
    impl: (a) => {
      const s = asString(a[0])
      const t = asString(a[1])
      return s === null || t === null ? null : fn(s, t)
    },
  }
}

/** Values concat() accepts besides strings; objects would print as [object Object]. */
function concatPart(v: unknown): string {
  if (v === null || v === undefined) return ''
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

function pad(name: string, summary: string, join: (s: string, spaces: string) => string): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary, params: [str(), num('n')], required: 2,
    impl: (a) => {
      const s = asString(a[0])
      const n = asInteger(a[1])
      return s === null || n === null || n < 0 || n > 100_000 ? null : join(s, ' '.repeat(n))
    },
  }
}

/** eKuiper's locale names (en_US) as BCP 47 tags (en-US); null when Intl does not know it. */
function localeOf(name: string): string | null {
  const tag = name.replace(/_/g, '-')
  try {
    const supported = Intl.NumberFormat.supportedLocalesOf([tag])
    return supported.length > 0 && /^[a-z]{2,3}(-[A-Z]{2})?$/.test(tag) ? tag : null
  } catch {
    return null
  }
}

/** Compiled regular expressions by source, bounded so user-built patterns cannot grow memory without limit. */
const REGEX_CACHE = new Map<string, RegExp | null>()
const REGEX_CACHE_LIMIT = 256

export function cachedRegExp(source: string): RegExp | null {
  let re = REGEX_CACHE.get(source)
  if (re === undefined) {
    try {
      re = new RegExp(source, 'u')
    } catch {
      re = null
    }
    if (REGEX_CACHE.size >= REGEX_CACHE_LIMIT) REGEX_CACHE.clear()
    REGEX_CACHE.set(source, re)
  }
  return re
}

function checkRegex(source: unknown): string | undefined {
  if (typeof source !== 'string') return undefined
  return cachedRegExp(source) === null ? `'${source}' is not a valid regular expression` : undefined
}

export const stringFunctions: ScalarFunctionSpec[] = [
  {
    kind: 'scalar', name: 'concat', summary: 'joins its arguments as text (null counts as empty)',
    params: [param('a')], required: 1, variadic: param('more'), nullSafe: true,
    impl: (a) => {
      let out = ''
      for (let i = 0; i < a.length; i++) out += concatPart(a[i])
      return out
    },
  },
  stringUnary('lower', 'lower case', (s) => s.toLowerCase()),
  stringUnary('upper', 'upper case', (s) => s.toUpperCase()),
  stringUnary('trim', 'without leading and trailing white space', (s) => s.trim()),
  stringUnary('ltrim', 'without leading white space', (s) => s.trimStart()),
  stringUnary('rtrim', 'without trailing white space', (s) => s.trimEnd()),
  {
    kind: 'scalar', name: 'length', summary: 'number of characters (code points) of text, members of an array, keys of an object; null: 0',
    params: [param('s')], required: 1, nullSafe: true,
    impl: (a) => {
      const v = a[0]
      if (typeof v === 'string') {
        let n = 0
        for (const _ of v) n++
        return n
      }
      if (Array.isArray(v)) return v.length
      if (v !== null && typeof v === 'object') return Object.keys(v).length
      return v === null || v === undefined ? 0 : String(v).length
    },
  },
  {
    kind: 'scalar', name: 'substring', summary: 'characters from start (0-based) to end (exclusive, default: the end)',
    params: [str(), num('start'), num('end')], required: 2,
    impl: (a) => {
      const s = asString(a[0])
      const start = asInteger(a[1])
      const end = a.length > 2 ? asInteger(a[2]) : s?.length ?? 0
      if (s === null || start === null || end === null || start < 0 || end < start) return null
      return s.substring(start, end)
    },
  },
  {
    kind: 'scalar', name: 'split_value', summary: 'the index-th part of s split at sep (0-based; negative from the end)',
    params: [str(), str('sep'), num('index')], required: 3,
    impl: (a) => {
      const s = asString(a[0])
      const sep = asString(a[1])
      const i = asInteger(a[2])
      if (s === null || sep === null || sep === '' || i === null) return null
      const parts = s.split(sep)
      // eKuiper: a negative index counts from the end.
      return parts[i < 0 ? parts.length + i : i] ?? null
    },
  },
  {
    kind: 'scalar', name: 'regexp_matches', summary: 'true when s matches the regular expression',
    params: [str(), str('regex')], required: 2, check: (c) => checkRegex(c[1]),
    impl: (a) => {
      const s = asString(a[0])
      const source = asString(a[1])
      if (s === null || source === null) return null
      const re = cachedRegExp(source)
      return re === null ? null : re.test(s)
    },
  },
  {
    kind: 'scalar', name: 'format', summary: "x as text with d decimals; with a locale ('en_US', 'de_DE') digits are grouped as it does",
    params: [num(), num('d'), str('locale')], required: 2,
    check: (c) => (typeof c[2] === 'string' && localeOf(c[2]) === null ? `format: unknown locale '${c[2]}'` : undefined),
    impl: (a) => {
      const x = asNumber(a[0])
      const d = asInteger(a[1])
      if (x === null || d === null || d < 0 || d > 20) return null
      if (a.length < 3) return x.toFixed(d)
      const locale = typeof a[2] === 'string' ? localeOf(a[2]) : null
      return locale === null ? null : new Intl.NumberFormat(locale, {minimumFractionDigits: d, maximumFractionDigits: d}).format(x)
    },
  },
  pad('lpad', 's with n spaces in front', (s, p) => p + s),
  pad('rpad', 's with n spaces after it', (s, p) => s + p),
  stringUnary('numbytes', 'number of bytes of s in UTF-8', (s) => Buffer.byteLength(s, 'utf8')),
  stringUnary('reverse', 's backwards (by character)', (s) => [...s].reverse().join('')),
  {
    kind: 'scalar', name: 'regexp_replace', summary: 'every match of the regular expression in s replaced by replacement ($1 for groups)',
    params: [str(), str('regex'), str('replacement')], required: 3, check: (c) => checkRegex(c[1]),
    impl: (a) => {
      const s = asString(a[0])
      const source = asString(a[1])
      const to = asString(a[2])
      if (s === null || source === null || to === null) return null
      const re = cachedRegExp(source)
      return re === null ? null : s.replace(new RegExp(re.source, 'gu'), to)
    },
  },
  {
    kind: 'scalar', name: 'regexp_substring', summary: 'the first match of the regular expression in s (null when none)',
    params: [str(), str('regex')], required: 2, check: (c) => checkRegex(c[1]),
    impl: (a) => {
      const s = asString(a[0])
      const source = asString(a[1])
      if (s === null || source === null) return null
      const re = cachedRegExp(source)
      return re === null ? null : (re.exec(s)?.[0] ?? null)
    },
  },
  stringBinary('startswith', 'true when s starts with prefix', ['s', 'prefix'], (s, t) => s.startsWith(t)),
  stringBinary('endswith', 'true when s ends with suffix', ['s', 'suffix'], (s, t) => s.endsWith(t)),
  stringBinary('indexof', 'position of sub in s (0-based), -1 when absent', ['s', 'sub'], (s, t) => s.indexOf(t)),
  {
    kind: 'scalar', name: 'replace', summary: 'every occurrence of old in s replaced by new',
    params: [str(), str('old'), str('new')], required: 3,
    impl: (a) => {
      const s = asString(a[0])
      const from = asString(a[1])
      const to = asString(a[2])
      if (s === null || from === null || to === null) return null
      return from === '' ? s : s.split(from).join(to)
    },
  },
]
