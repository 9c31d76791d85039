import {parseDuration, parseRate} from '../config/units.js'
import {closestName} from '../config/did-you-mean.js'
import {UsageError} from '../errors.js'
import {formatMs, formatNumber, formatRate} from './format.js'
import {LATENCY_DISTRIBUTIONS, type BenchObservation, type DistributionStats} from './observation.js'

/**
 * SLO thresholds for `iotd bench` in k6's grammar, from `--threshold` flags or a bench profile. They are checked
 * once against the end-of-run figures; any failure makes the run exit 99 (EXIT_CODES.thresholds).
 *
 *   threshold    = [distribution "."] aggregation op value        spaces allowed between the parts
 *   distribution = latency | uncorrected | ack | connect           default: latency
 *   aggregation  = p(N) | avg | min | max | med | count            of a distribution (N from 0 to 100, e.g. 99.9)
 *                | rate | loss | dup | reorder | errors | dropped  of the whole run, never prefixed
 *   op           = < | <= | > | >= | == | !=
 *
 * Examples: `p(99)<20ms`, `uncorrected.p(99.9)<=100ms`, `ack.avg<5ms`, `connect.p(95)<250ms`, `loss<0.1%`,
 * `rate>=49500/s`, `errors==0`, `dropped==0`.
 *
 * Connect time is the `connect.` prefix on the usual aggregations rather than a separate name (`conn_p(99)`), so
 * every distribution is questioned the same way.
 *
 * Values, by aggregation:
 * - p/avg/min/max/med: a duration through config/units (`500us`, `20ms`, `1s`); a bare number is milliseconds;
 * - count/errors/dropped: a whole number;
 * - rate: the achieved rate of what the run sends (messages, or connections in connect mode), through config/units
 *   (`49500/s`, `3000/m`); a bare number is per second;
 * - loss/dup/reorder: a fraction (`0.001`) or a percentage (`0.1%`).
 *
 * `==` and `!=` (and the equal part of `<=`, `>=`) treat numbers within one part in 10^9 as equal, so fractions
 * computed in floating point (0.1 + 0.2) meet the limit a person wrote (0.3).
 * A threshold on a distribution with no samples, or on a figure the mode does not measure, fails: an SLO never
 * passes because nothing was measured.
 */

export type ComparisonOp = '<' | '<=' | '>' | '>=' | '==' | '!='
/** Longest first, so `<=` is not read as `<` followed by `=`. */
const OPERATORS: readonly ComparisonOp[] = ['<=', '>=', '==', '!=', '<', '>']
const OPERATOR_LIST = '<, <=, >, >=, ==, !='

export const DISTRIBUTION_STATS = ['avg', 'min', 'max', 'med', 'count'] as const
export type DistributionStat = (typeof DISTRIBUTION_STATS)[number]
export const RUN_FIGURES = ['rate', 'loss', 'dup', 'reorder', 'errors', 'dropped'] as const
export type RunFigure = (typeof RUN_FIGURES)[number]

export type ThresholdSubject =
  | {kind: 'percentile'; distribution: string; percentile: number}
  | {kind: 'stat'; distribution: string; stat: DistributionStat}
  | {kind: 'run'; figure: string}

/** How a limit is read and shown; `percent` is a fraction the user wrote as a percentage, and is shown as one. */
export type ValueKind = 'duration' | 'count' | 'rate' | 'fraction' | 'percent'

/**
 * The names one command's thresholds may use: its distributions (the first is the default, written without a
 * prefix) and its figures of the whole run with the kind of value each takes. One grammar, one evaluator and one
 * display serve `iotd bench` and `iotd sim`; only the vocabulary differs.
 */
export interface ThresholdVocabulary {
  distributions: readonly string[]
  figures: Readonly<Record<string, Exclude<ValueKind, 'percent'>>>
  /** Names people reach for from other tools, mapped to what this vocabulary calls them. */
  hints?: Readonly<Record<string, string>>
  /** Thresholds that parse, offered when one does not. */
  examples: readonly string[]
}

export const BENCH_THRESHOLDS: ThresholdVocabulary = {
  distributions: LATENCY_DISTRIBUTIONS,
  figures: {rate: 'rate', loss: 'fraction', dup: 'fraction', reorder: 'fraction', errors: 'count', dropped: 'count'},
  examples: ['p(99)<20ms', 'loss<0.1%', 'rate>=1000/s'],
}

export interface Threshold {
  /** Normalised: no spaces, no default `latency.` prefix, canonical percentile, unit added to a bare number. */
  text: string
  subject: ThresholdSubject
  op: ComparisonOp
  /** In the subject's unit: milliseconds, per second, a fraction (0–1) or a count. */
  limit: number
  /** The limit as written, spaces removed, unit added to a bare duration or rate (`20` -> `20ms`). */
  limitText: string
  valueKind: ValueKind
}

export interface ThresholdVerdict {
  /** The normalised threshold text. */
  threshold: string
  ok: boolean
  /** In the threshold's unit; NaN (null in JSON) when nothing was measured. */
  observed: number
  /** With its unit (`12.4ms`, `0.0042`, `49,812/s`), or `no samples` / `not measured`. */
  observedText: string
  limitText: string
}

export type ThresholdParseResult =
  | {ok: true; threshold: Threshold}
  | {ok: false; problem: string; suggestions: string[]}

/** Names people reach for from other tools, mapped to what iotd calls them. */
const AGGREGATION_HINTS: Record<string, string> = {
  mean: 'avg',
  average: 'avg',
  median: 'med',
  conn_p: 'connect.p(N)',
  connect_p: 'connect.p(N)',
  lost: 'loss',
  dups: 'dup',
  duplicates: 'dup',
  error: 'errors',
  throughput: 'rate',
}

class ThresholdSyntaxError extends Error {
  constructor(
    message: string,
    readonly suggestions: string[] = [],
  ) {
    super(message)
  }
}

/** A cursor over the threshold text; every read leaves `pos` after what it consumed. */
class Scanner {
  pos = 0
  constructor(readonly text: string) {}

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++
  }
  atEnd(): boolean {
    return this.pos >= this.text.length
  }
  startsWith(s: string): boolean {
    return this.text.startsWith(s, this.pos)
  }
  eat(s: string): boolean {
    if (!this.startsWith(s)) return false
    this.pos += s.length
    return true
  }
  /** Reads what matches `pattern` (a sticky regex) at the cursor, or '' when nothing does. */
  read(pattern: RegExp): string {
    pattern.lastIndex = this.pos
    const m = pattern.exec(this.text)
    if (!m) return ''
    this.pos += m[0].length
    return m[0]
  }
  rest(): string {
    return this.text.slice(this.pos)
  }
}

const WORD = /[A-Za-z_]+/y
const NUMBER = /\d+(?:\.\d+)?/y

/** Parses one threshold, returning the problem as data (for a profile loader that reports file locations). */
export function tryParseThreshold(text: string, vocabulary: ThresholdVocabulary = BENCH_THRESHOLDS): ThresholdParseResult {
  try {
    return {ok: true, threshold: parse(text, vocabulary)}
  } catch (error) {
    if (error instanceof ThresholdSyntaxError) return {ok: false, problem: error.message, suggestions: error.suggestions}
    throw error
  }
}

/** Parses one threshold; a malformed one is a UsageError naming where it came from and the bad part. */
export function parseThreshold(text: string, origin = '--threshold', vocabulary: ThresholdVocabulary = BENCH_THRESHOLDS): Threshold {
  const result = tryParseThreshold(text, vocabulary)
  if (!result.ok) throw new UsageError(`${origin} '${text}': ${result.problem}`, result.suggestions)
  return result.threshold
}

export function parseThresholds(texts: readonly string[], origin = '--threshold', vocabulary: ThresholdVocabulary = BENCH_THRESHOLDS): Threshold[] {
  return texts.map((t) => parseThreshold(t, origin, vocabulary))
}

function parse(text: string, vocabulary: ThresholdVocabulary): Threshold {
  const s = new Scanner(text)
  s.skipSpace()
  if (s.atEnd()) throw new ThresholdSyntaxError(`empty threshold; expected e.g. ${exampleThresholds(vocabulary)[0]}`)
  const subject = parseSubject(s, vocabulary)
  const subjectText = subjectToText(subject, vocabulary)
  s.skipSpace()
  const op = parseOperator(s, subjectText)
  const valueKind = valueKindOf(subject, vocabulary)
  const written = s.rest().trim()
  if (!/^\d/.test(written)) {
    throw new ThresholdSyntaxError(`expected a number after '${op}'`, [`${subjectText}${op}${exampleValue(valueKind)}`])
  }
  const {limit, limitText, kind} = parseLimit(valueKind, written)
  return {text: `${subjectText}${op}${limitText}`, subject, op, limit, limitText, valueKind: kind}
}

function parseSubject(s: Scanner, vocabulary: ThresholdVocabulary): ThresholdSubject {
  const start = s.pos
  const first = s.read(WORD).toLowerCase()
  const distributions = vocabulary.distributions
  const distributionList = `${distributions.slice(0, -1).join(', ')} or ${distributions[distributions.length - 1]}`
  if (!first) {
    const figure = /^[a-z_]+/.exec(vocabulary.examples[1] ?? '')?.[0] ?? Object.keys(vocabulary.figures)[0]
    throw new ThresholdSyntaxError(`expected an aggregation such as p(99), avg or ${figure} at the start, found '${s.rest()}'`)
  }
  let distribution: string | undefined
  let name = first
  if (s.eat('.')) {
    if (!distributions.includes(first)) {
      throw new ThresholdSyntaxError(`unknown metric '${first}'; expected ${distributionList} before the '.'`)
    }
    distribution = first
    name = s.read(WORD).toLowerCase()
    if (!name) throw new ThresholdSyntaxError(`expected an aggregation after '${first}.', e.g. ${first}.p(99)`)
    if (s.startsWith('.')) {
      throw new ThresholdSyntaxError(`'${s.text.slice(start, s.pos)}' has two metric prefixes; keep one of ${distributions.join(', ')}`)
    }
  }
  const prefix = distribution ? `${distribution}.` : ''

  if (name === 'p') return {kind: 'percentile', distribution: distribution ?? distributions[0], percentile: parsePercentile(s, prefix)}
  if ((DISTRIBUTION_STATS as readonly string[]).includes(name)) {
    return {kind: 'stat', distribution: distribution ?? distributions[0], stat: name as DistributionStat}
  }
  if (Object.hasOwn(vocabulary.figures, name)) {
    if (distribution) {
      throw new ThresholdSyntaxError(`'${name}' is a figure of the whole run and takes no metric prefix; drop '${prefix}'`)
    }
    return {kind: 'run', figure: name}
  }
  const names = [...DISTRIBUTION_STATS, ...Object.keys(vocabulary.figures)]
  const hint = {...AGGREGATION_HINTS, ...vocabulary.hints}[name] ?? closestName(name, names)
  const known = `p(N), ${names.join(', ')}`
  throw new ThresholdSyntaxError(
    hint ? `unknown aggregation '${name}'; did you mean ${hint}?` : `unknown aggregation '${name}'; expected one of ${known}`,
    hint ? [] : [...exampleThresholds(vocabulary)],
  )
}

function exampleThresholds(vocabulary: ThresholdVocabulary): readonly string[] {
  return vocabulary.examples
}

function parsePercentile(s: Scanner, prefix: string): number {
  const digits = s.read(NUMBER)
  if (digits) throw new ThresholdSyntaxError(`'${prefix}p${digits}' needs parentheses: ${prefix}p(${digits})`)
  s.skipSpace()
  if (!s.eat('(')) throw new ThresholdSyntaxError(`expected '(' after '${prefix}p', e.g. ${prefix}p(99)`)
  s.skipSpace()
  const n = s.read(NUMBER)
  if (!n) throw new ThresholdSyntaxError(`expected a percentile from 0 to 100 between the parentheses, e.g. ${prefix}p(99)`)
  s.skipSpace()
  if (!s.eat(')')) throw new ThresholdSyntaxError(`expected ')' after '${prefix}p(${n}'`)
  const percentile = Number(n)
  if (percentile > 100) throw new ThresholdSyntaxError(`percentile ${n} is above 100; e.g. p(99.9)`)
  return percentile
}

function parseOperator(s: Scanner, subjectText: string): ComparisonOp {
  const op = OPERATORS.find((o) => s.startsWith(o))
  if (op) {
    s.pos += op.length
    return op
  }
  if (s.startsWith('=<') || s.startsWith('=>')) {
    const wrote = s.rest().slice(0, 2)
    throw new ThresholdSyntaxError(`'${wrote}' is not an operator; write '${wrote[1]}='`)
  }
  if (s.startsWith('=')) throw new ThresholdSyntaxError(`'=' is not an operator; use '==' for equality`)
  if (s.atEnd()) throw new ThresholdSyntaxError(`expected an operator (${OPERATOR_LIST}) after '${subjectText}'`)
  throw new ThresholdSyntaxError(`expected an operator (${OPERATOR_LIST}) after '${subjectText}', found '${s.rest()}'`)
}

function valueKindOf(subject: ThresholdSubject, vocabulary: ThresholdVocabulary): Exclude<ValueKind, 'percent'> {
  if (subject.kind === 'percentile') return 'duration'
  if (subject.kind === 'stat') return subject.stat === 'count' ? 'count' : 'duration'
  return vocabulary.figures[subject.figure]
}

function exampleValue(kind: ValueKind): string {
  return {duration: '20ms', count: '0', rate: '1000/s', fraction: '0.001', percent: '0.1%'}[kind]
}

const BARE_NUMBER = /^\d+(?:\.\d+)?$/

function parseLimit(kind: Exclude<ValueKind, 'percent'>, written: string): {limit: number; limitText: string; kind: ValueKind} {
  const compact = written.replace(/\s+/g, '')
  switch (kind) {
    case 'duration': {
      let limit: number
      try {
        limit = parseDuration(written)
      } catch {
        throw new ThresholdSyntaxError(`'${written}' is not a duration (try 500us, 20ms, 1s)`)
      }
      return {limit, limitText: BARE_NUMBER.test(compact) ? `${compact}ms` : compact, kind}
    }
    case 'rate':
      return {limit: parseRateLimit(written, compact), limitText: BARE_NUMBER.test(compact) ? `${compact}/s` : compact, kind}
    case 'count':
      if (!/^\d+$/.test(compact)) throw new ThresholdSyntaxError(`'${written}' is not a whole number`)
      return {limit: Number(compact), limitText: compact, kind}
    case 'fraction': {
      const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(compact)
      if (!m) throw new ThresholdSyntaxError(`'${written}' is not a fraction (try 0.001 or 0.1%)`)
      const percent = m[2] === '%'
      const limit = percent ? Number(m[1]) / 100 : Number(m[1])
      if (limit > 1) {
        throw new ThresholdSyntaxError(`'${written}' is more than ${percent ? '100%' : '1'}; write a fraction from 0 to 1 (0.001) or a percentage (0.1%)`)
      }
      return {limit, limitText: compact, kind: percent ? 'percent' : 'fraction'}
    }
  }
}

/** config/units rejects a zero rate (right for a target), but `rate>0/s` is a fair SLO, so zero is read here. */
function parseRateLimit(written: string, compact: string): number {
  if (BARE_NUMBER.test(compact)) return Number(compact)
  try {
    const zero = /^0+(?:\.0+)?\//.exec(compact)
    if (zero) {
      parseRate(`1${compact.slice(zero[0].length - 1)}`)
      return 0
    }
    return parseRate(written)
  } catch {
    throw new ThresholdSyntaxError(`'${written}' is not a rate (try 49500/s or 3000/m)`)
  }
}

function subjectToText(subject: ThresholdSubject, vocabulary: ThresholdVocabulary): string {
  if (subject.kind === 'run') return subject.figure
  const prefix = subject.distribution === vocabulary.distributions[0] ? '' : `${subject.distribution}.`
  return subject.kind === 'percentile' ? `${prefix}p(${subject.percentile})` : `${prefix}${subject.stat}`
}

// ---- evaluation -------------------------------------------------------------------------------------------------

const RELATIVE_EPSILON = 1e-9

function nearlyEqual(a: number, b: number): boolean {
  return Math.abs(a - b) <= RELATIVE_EPSILON * Math.max(Math.abs(a), Math.abs(b), 1e-300)
}

export function compare(observed: number, op: ComparisonOp, limit: number): boolean {
  const equal = nearlyEqual(observed, limit)
  switch (op) {
    case '<':
      return observed < limit && !equal
    case '<=':
      return observed < limit || equal
    case '>':
      return observed > limit && !equal
    case '>=':
      return observed > limit || equal
    case '==':
      return equal
    case '!=':
      return !equal
  }
}

type Measured = {value: number} | {missing: 'no samples' | 'not measured'}

/**
 * What thresholds are evaluated against: distributions by name, and the run's figures as numeric fields (a figure
 * left undefined reads as "not measured"). BenchObservation and SimObservation are two shapes of it.
 */
export type ThresholdObservation = BenchObservation | ({distributions: Partial<Record<string, DistributionStats>>} & Record<string, unknown>)

function measure(subject: ThresholdSubject, obs: ThresholdObservation): Measured {
  if (subject.kind === 'run') {
    const value = (obs as unknown as Record<string, number | undefined>)[subject.figure]
    return value === undefined || !Number.isFinite(value) ? {missing: 'not measured'} : {value}
  }
  const d = (obs.distributions as Partial<Record<string, DistributionStats>>)[subject.distribution]
  if (subject.kind === 'stat' && subject.stat === 'count') return {value: d?.count ?? 0}
  if (!d || d.count === 0) return {missing: 'no samples'}
  const value =
    subject.kind === 'percentile' ? d.percentile(subject.percentile) : subject.stat === 'med' ? d.percentile(50) : d[subject.stat]
  return Number.isFinite(value) ? {value} : {missing: 'not measured'}
}

export function evaluateThreshold(t: Threshold, observed: ThresholdObservation): ThresholdVerdict {
  const m = measure(t.subject, observed)
  if ('missing' in m) return {threshold: t.text, ok: false, observed: Number.NaN, observedText: m.missing, limitText: t.limitText}
  return {
    threshold: t.text,
    ok: compare(m.value, t.op, t.limit),
    observed: m.value,
    observedText: observedText(t, m.value),
    limitText: t.limitText,
  }
}

export function evaluateThresholds(thresholds: readonly Threshold[], observed: ThresholdObservation): ThresholdVerdict[] {
  return thresholds.map((t) => evaluateThreshold(t, observed))
}

/** True when any threshold failed: the run then exits with EXIT_CODES.thresholds (99). */
export function anyFailed(verdicts: readonly ThresholdVerdict[]): boolean {
  return verdicts.some((v) => !v.ok)
}

// ---- display ----------------------------------------------------------------------------------------------------

interface ValueFormat {
  /** The usual, short form. */
  short(v: number): string
  /** Enough digits to tell a value from a limit it rounds to. */
  precise(v: number): string
}

const VALUE_FORMATS: Record<ValueKind, ValueFormat> = {
  duration: {short: formatMs, precise: (v) => `${significant(v, 6)}ms`},
  count: {short: (v) => formatNumber(v), precise: (v) => formatNumber(v)},
  rate: {short: (v) => formatRate(v), precise: (v) => `${significant(v, 6)}/s`},
  fraction: {short: (v) => significant(v, 3), precise: (v) => significant(v, 9)},
  percent: {short: (v) => `${significant(v * 100, 3)}%`, precise: (v) => `${significant(v * 100, 9)}%`},
}

/**
 * The observed value in the limit's unit. When the short form would read the same as the limit although the two
 * differ (p(99)<20ms failing at 20.015ms), more digits are shown so the verdict does not contradict its number.
 */
function observedText(t: Threshold, value: number): string {
  const f = VALUE_FORMATS[t.valueKind]
  const short = f.short(value)
  return short === f.short(t.limit) && !nearlyEqual(value, t.limit) ? f.precise(value) : short
}

/** `digits` significant digits without exponent or trailing zeros: 0.0042, 12.3, 0. */
function significant(v: number, digits: number): string {
  if (v === 0 || !Number.isFinite(v)) return String(v)
  const magnitude = Math.floor(Math.log10(Math.abs(v)))
  const decimals = Math.min(20, Math.max(0, digits - 1 - magnitude))
  return trimZeros(v.toFixed(decimals))
}

function trimZeros(fixed: string): string {
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed
}
