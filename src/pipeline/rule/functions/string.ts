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
  stringUnary('length', 'number of characters (code points)', (s) => {
    let n = 0
    for (const _ of s) n++
    return n
  }),
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
    kind: 'scalar', name: 'split_value', summary: 'the index-th part of s split at sep (0-based)',
    params: [str(), str('sep'), num('index')], required: 3,
    impl: (a) => {
      const s = asString(a[0])
      const sep = asString(a[1])
      const i = asInteger(a[2])
      if (s === null || sep === null || sep === '' || i === null || i < 0) return null
      return s.split(sep)[i] ?? null
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
    kind: 'scalar', name: 'format', summary: 'x as text with d decimals',
    params: [num(), num('d')], required: 2,
    impl: (a) => {
      const x = asNumber(a[0])
      const d = asInteger(a[1])
      return x === null || d === null || d < 0 || d > 20 ? null : x.toFixed(d)
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
