/**
 * How a foreign CSV (a data logger's `time,device,temp,humidity`) becomes messages: which column holds the time and
 * in what format, the topic template, which columns make the payload. Pure functions, tested without files.
 */
import {plainDecimal} from '../../capture/format.js'

export type TimeFormat = 'iso' | 'epoch-s' | 'epoch-ms' | 'epoch-us' | (string & {})

/** A parser from a cell to epoch ms (NaN when the cell does not match). */
export type TimeParser = (text: string) => number

const PATTERN_TOKENS: Record<string, string> = {YYYY: '(\\d{4})', MM: '(\\d{1,2})', DD: '(\\d{1,2})', HH: '(\\d{1,2})', mm: '(\\d{1,2})', ss: '(\\d{1,2})', SSS: '(\\d{1,6})'}

/**
 * `iso` (Date.parse; a time without a zone is read as UTC, not local, so a capture replays the same on every
 * machine), `epoch-s|ms|us` (numbers, fractions allowed), or a pattern of YYYY MM DD HH mm ss SSS (UTC).
 */
export function timeParser(format: TimeFormat): TimeParser {
  switch (format) {
    case 'iso':
      return (t) => {
        const s = t.trim()
        if (!/^\d{4}-\d{2}-\d{2}/.test(s)) return Number.NaN
        const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) || !/[T ]\d/.test(s) ? s : `${s}Z`
        return Date.parse(zoned.replace(' ', 'T'))
      }
    case 'epoch-s':
      return (t) => epochNumber(t) * 1000
    case 'epoch-ms':
      return (t) => epochNumber(t)
    case 'epoch-us':
      return (t) => epochNumber(t) / 1000
    default:
      return patternParser(format)
  }
}

function epochNumber(t: string): number {
  const fast = plainDecimal(t)
  if (fast !== undefined) return fast
  const s = t.trim()
  return /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : Number.NaN
}

function patternParser(pattern: string): TimeParser {
  const order: string[] = []
  let source = ''
  for (let i = 0; i < pattern.length; ) {
    const token = ['YYYY', 'SSS', 'MM', 'DD', 'HH', 'mm', 'ss'].find((k) => pattern.startsWith(k, i))
    if (token) {
      order.push(token)
      source += PATTERN_TOKENS[token]
      i += token.length
    } else {
      source += pattern[i].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
      i++
    }
  }
  if (!order.includes('YYYY') || !order.includes('MM') || !order.includes('DD')) {
    throw new Error(`time format "${pattern}" needs at least YYYY, MM and DD (or use iso, epoch-s, epoch-ms, epoch-us)`)
  }
  const re = new RegExp(`^${source}$`)
  return (t) => {
    const m = re.exec(t.trim())
    if (!m) return Number.NaN
    const v: Record<string, number> = {YYYY: 1970, MM: 1, DD: 1, HH: 0, mm: 0, ss: 0, SSS: 0}
    order.forEach((k, i) => (v[k] = k === 'SSS' ? Number(`0.${m[i + 1]}`) * 1000 : Number(m[i + 1])))
    if (v.MM < 1 || v.MM > 12 || v.DD < 1 || v.DD > 31 || v.HH > 23 || v.mm > 59 || v.ss > 60) return Number.NaN
    return Date.UTC(v.YYYY, v.MM - 1, v.DD, v.HH, v.mm, v.ss) + v.SSS
  }
}

/** `plant/{device}/env` -> a function of the row; unknown columns are reported when the template is built. */
export function topicTemplate(template: string, columnIndex: (name: string) => number): (row: readonly string[]) => string | undefined {
  const parts: Array<string | number> = []
  let last = 0
  for (const m of template.matchAll(/\{([^{}]+)\}/g)) {
    parts.push(template.slice(last, m.index))
    const idx = columnIndex(m[1].trim())
    if (idx < 0) throw new Error(`topic template "${template}" names column "${m[1]}", which the CSV does not have`)
    parts.push(idx)
    last = m.index + m[0].length
  }
  parts.push(template.slice(last))
  return (row) => {
    let out = ''
    for (const p of parts) {
      if (typeof p === 'string') out += p
      else {
        const cell = row[p]
        // A cell may hold whole topic levels (`plant/press-01`); an empty one, or one with a wildcard or NUL, would
        // make an empty part or a filter, not a topic.
        if (cell === undefined || cell === '' || /[+#\0]/.test(cell)) return undefined
        out += cell
      }
    }
    return out
  }
}

/** Columns named in the template, so the default payload leaves them out. */
export function templateColumns(template: string): string[] {
  return [...template.matchAll(/\{([^{}]+)\}/g)].map((m) => m[1].trim())
}

/** A cell as a JSON value: the pipeline's one cell caster (records.ts), under the name this module's callers use. */
export {castCell as cellValue} from '../records.js'

const DELIMITERS = [',', ';', '\t', '|'] as const

/**
 * The delimiter of a CSV from its first line: the candidate that occurs most often outside quotes (a tie or none
 * at all means a comma). Enough for data-logger files; `--delimiter` overrides it.
 */
export function detectDelimiter(firstLine: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]))
  let quoted = false
  for (const ch of firstLine) {
    if (ch === '"') quoted = !quoted
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1)
  }
  let best = ','
  let bestCount = 0
  for (const [d, n] of counts) if (n > bestCount) [best, bestCount] = [d, n]
  return best
}

/** Header names that mean "the time column" when none is named. */
export const TIME_COLUMN_NAMES = ['ts', 'time', 'timestamp', 'datetime', 'date_time', 'date']

/**
 * The csv source's fast path: one line (`text` from `start` to `end`, no line break in it) split into fields, for
 * the lines that need none of csv-parse's judgement: fields without a quote, or fields wholly quoted
 * (`"a,""b"""`) whose closing quote is followed by the delimiter or the end of the line. Anything else (a quote
 * inside a bare field, text after a closing quote, a quoted field still open at the end of the line, a CR) returns
 * undefined and the caller hands the rest of the input to csv-parse, whose reading of odd files is the contract
 * (test/fixtures/csv).
 */
export function splitCsvLine(text: string, delimiter: string, start = 0, end = text.length, nextCr = text.indexOf('\r', start)): string[] | undefined {
  // `nextCr` (the first CR at or after start, -1 for none) is the caller's when it knows it: a fresh search of a
  // long text for every line would be quadratic.
  if (nextCr >= start && nextCr < end) return undefined
  const d = delimiter.charCodeAt(0)
  const row: string[] = []
  let i = start
  for (;;) {
    if (i < end && text.charCodeAt(i) === 34) {
      // Find the closing quote (a doubled one is a quote in the value), then cut the value out in one piece.
      // A doubled quote is one quote of the value (slices joined by hand: replaceAll costs ~1 µs a call here).
      let from = i + 1
      let value = ''
      let q: number
      for (;;) {
        q = text.indexOf('"', from)
        if (q < 0 || q >= end) return undefined
        if (q + 1 < end && text.charCodeAt(q + 1) === 34) {
          value += text.slice(from, q + 1)
          from = q + 2
          continue
        }
        break
      }
      row.push(value === '' ? text.slice(from, q) : value + text.slice(from, q))
      i = q + 1
      if (i === end) return row
      if (text.charCodeAt(i) !== d) return undefined
      i++
    } else {
      let e = text.indexOf(delimiter, i)
      if (e < 0 || e > end) e = end
      const q = text.indexOf('"', i)
      if (q >= 0 && q < e) return undefined
      row.push(text.slice(i, e))
      if (e === end) return row
      i = e + 1
    }
  }
}
