import {formatDuration, parseDuration, parseRate} from '../config/units.js'
import {UsageError} from '../errors.js'
import {formatRate} from '../metrics/format.js'

/**
 * The load model of `iotd bench`: what the run intends to send and when. Pure math, no clock.
 *
 * Two models, in k6's vocabulary:
 * - open model (`kind: 'rate'`): an arrival rate over time, as stages. `--rate 50000/s` is one constant stage
 *   lasting `--duration`; `--stage 30s:10000/s --stage 60s:50000/s` ramps linearly from the previous stage's rate
 *   to each stage's own (the first stage starts from 0/s), as k6's ramping-arrival-rate executor does. A stage can
 *   name its start rate, `--stage 10s:2000/s..2000/s` (a step, then constant) or `--stage 10s:1000/s..0/s`.
 * - closed model (`kind: 'max'`, `--rate max`): saturation, each client keeping at most `inflightPerClient`
 *   messages un-acknowledged (see WindowedSender). How long it runs is the runner's business.
 *
 * The schedule of an open-model run. With r(t) the target rate and Λ(t) = ∫₀ᵗ r its integral (messages planned
 * by time t, a real number), message k (k = 0, 1, …) is intended to leave at
 *
 *     t_k = inf { t : Λ(t) > k }
 *
 * so message 0 leaves at 0, a constant rate r sends message k at k/r, and nothing is planned while the rate is 0
 * (the message after a pause leaves when the rate resumes). The number of messages planned in [0, u) is then
 * exactly ⌈Λ(u)⌉, and a run of D at r plans r·D messages. On a linear ramp from a to b over D, Λ is quadratic in
 * the stage's local time τ, a·τ + (b − a)·τ²/(2D), and t_k is its positive root, computed in the form
 * 2M / (a + √(a² + 4cM)) that stays exact when a ≈ b (no cancellation) and when a = 0.
 *
 * A run is split across shards and publishers by giving each a {@link Share} of the message indexes, not a
 * scaled copy of the rates: scaling alone makes each publisher round its own count (n publishers at r/n plan
 * Σ⌈Λ/n⌉, up to n − 1 more than ⌈Λ⌉). A share owns `positions` out of every `period` consecutive message indexes
 * of the whole run; the shares of one split partition [0, period), so at every instant the publishers' planned
 * counts add up to the whole run's count exactly, and their intended times are exactly the whole run's times.
 * For equal shares (publisher i of n owns the indexes ≡ i mod n) publisher i plans ⌈(N − i)/n⌉ of the first N
 * messages, and Σᵢ ⌈(N − i)/n⌉ = N (Hermite's identity); its rate is r/n.
 */

export interface LoadStage {
  /** Length of the stage in ms. Infinity only for the single constant stage of `--rate` without `--duration`. */
  readonly durationMs: number
  /** Target rate when the stage starts, messages per second, for the whole run (before any share). */
  readonly startRate: number
  /** Target rate when the stage ends; the rate is linear in between. */
  readonly endRate: number
}

/** Which message indexes of the whole run one shard or publisher sends: `positions` (ascending) of every `period`. */
export interface Share {
  readonly period: number
  readonly positions: readonly number[]
}

export interface RateProfile {
  readonly kind: 'rate'
  /** The whole run's stages, back to back from time 0. A share does not change them; see rateAt(). */
  readonly stages: readonly LoadStage[]
  /** At most this many messages in the whole run (`--messages`); the run's plan ends at whichever comes first. */
  readonly limit?: number
  /** This profile's part of the run; absent for the whole run. */
  readonly share?: Share
}

export interface MaxProfile {
  readonly kind: 'max'
  /** Un-acknowledged messages each client may have in flight. */
  readonly inflightPerClient: number
}

export type LoadProfile = RateProfile | MaxProfile

export const DEFAULT_INFLIGHT_PER_CLIENT = 100

const STAGE_SUGGESTION =
  '--stage takes DURATION:RATE, ramping from the previous stage\'s rate (0/s for the first), or DURATION:FROM..TO, ' +
  'e.g. --stage 30s:10000/s or --stage 10s:0/s..1000/s'

/**
 * Parses one `--stage` value. `previousRate` is where a stage without an explicit start rate ramps from: the end
 * rate of the stage before it, or 0 for the first (k6's startRate default).
 */
export function parseStage(text: string, previousRate = 0): LoadStage {
  const fail = (why: string): UsageError => new UsageError(`--stage "${text}": ${why}`, [STAGE_SUGGESTION])
  const colon = text.indexOf(':')
  if (colon < 0) throw fail('expected DURATION:RATE, e.g. 30s:10000/s')
  const durationText = text.slice(0, colon).trim()
  const rateText = text.slice(colon + 1).trim()
  if (!durationText) throw fail('the duration before ":" is missing')
  if (!rateText) throw fail('the rate after ":" is missing')
  if (rateText.includes(':')) throw fail('expected one ":" between the duration and the rate')

  let durationMs: number
  try {
    durationMs = parseDuration(durationText)
  } catch (error) {
    throw fail((error as Error).message)
  }
  if (!(durationMs > 0)) throw fail('a stage must last longer than 0')

  const ends = rateText.split('..')
  if (ends.length > 2) throw fail('a ramp has one "..", as in 0/s..1000/s')
  const [fromText, toText] = ends.length === 2 ? ends : [undefined, ends[0]]
  if (fromText !== undefined && !fromText.trim()) throw fail('the start rate before ".." is missing')
  if (!toText.trim()) throw fail('the end rate after ".." is missing')
  try {
    const startRate = fromText === undefined ? previousRate : parseStageRate(fromText)
    return {durationMs, startRate, endRate: parseStageRate(toText)}
  } catch (error) {
    throw fail((error as Error).message)
  }
}

/** Parses `--stage` values in order, each ramping from the one before. */
export function parseStages(texts: readonly string[]): LoadStage[] {
  const stages: LoadStage[] = []
  for (const text of texts) stages.push(parseStage(text, stages.at(-1)?.endRate ?? 0))
  return stages
}

/**
 * A stage may hold or ramp to 0/s, which config/units (rightly, for `--rate`) refuses; zero is read here and its
 * unit still checked by the one parser.
 */
function parseStageRate(text: string): number {
  const t = text.trim()
  const zero = /^0+(?:\.0*)?(?=\s*(?:\/|$))/.exec(t)
  try {
    if (!zero) return parseRate(t)
    parseRate(`1${t.slice(zero[0].length)}`)
    return 0
  } catch {
    throw new Error(`"${t}" is not a rate (try 1000/s, 60/m, 0/s)`)
  }
}

export interface LoadProfileOptions {
  /** The `--rate` value: a rate (`50000/s`) or `max`. */
  rate?: string
  /** The `--stage` values, in order. */
  stages?: readonly string[]
  /** `--duration`, only when the user gave it: the length of a `--rate` run (open-ended without it). */
  durationMs?: number
  /** `--messages`: at most this many messages in the whole open-model run. */
  messages?: number
  /** In-flight window per client for `--rate max`. */
  inflightPerClient?: number
}

/** Builds the profile from the bench flags (or the same fields of a bench profile file). */
export function buildLoadProfile(options: LoadProfileOptions): LoadProfile {
  const {rate, stages, durationMs, messages} = options
  const hasStages = stages !== undefined && stages.length > 0
  if (rate !== undefined && hasStages) {
    throw new UsageError('--rate and --stage cannot be combined', ['give one --rate for a constant load, or --stage flags for a ramp'])
  }
  if (messages !== undefined && !(Number.isInteger(messages) && messages > 0)) {
    throw new UsageError(`--messages must be a whole number above 0, got ${messages}`)
  }
  if (rate?.trim().toLowerCase() === 'max') {
    const inflightPerClient = options.inflightPerClient ?? DEFAULT_INFLIGHT_PER_CLIENT
    if (!(Number.isInteger(inflightPerClient) && inflightPerClient > 0)) {
      throw new UsageError(`the in-flight window must be a whole number above 0, got ${inflightPerClient}`)
    }
    return {kind: 'max', inflightPerClient}
  }
  let profile: RateProfile
  if (hasStages) {
    if (durationMs !== undefined) {
      const total = parseStages(stages).reduce((sum, s) => sum + s.durationMs, 0)
      throw new UsageError(`--duration cannot be combined with --stage: the stages set the run's length (${formatDuration(total)})`, [
        'drop --duration, or add a last --stage',
      ])
    }
    profile = {kind: 'rate', stages: parseStages(stages)}
  } else if (rate !== undefined) {
    let perSecond: number
    try {
      perSecond = parseRate(rate)
    } catch (error) {
      throw new UsageError(`--rate "${rate}": ${(error as Error).message}`, ['try --rate 10000/s, or --rate max for saturation'])
    }
    if (durationMs !== undefined && !(durationMs > 0)) throw new UsageError('--duration must be longer than 0')
    profile = {kind: 'rate', stages: [{durationMs: durationMs ?? Number.POSITIVE_INFINITY, startRate: perSecond, endRate: perSecond}]}
  } else {
    throw new UsageError('no load given', ['try --rate 10000/s, --stage 30s:10000/s, or --rate max'])
  }
  if (messages !== undefined) profile = {...profile, limit: messages}
  if (ratePlan(profile).total === 0) throw new UsageError('the stages plan no messages: every stage is at 0/s')
  return profile
}

/** Gives `share` of `profile` to one shard or publisher; a profile that already has a share is split further. */
export function splitProfile<P extends LoadProfile>(profile: P, share: Share): P {
  checkShare(share)
  // The in-flight window is per client whatever the split.
  if (profile.kind === 'max') return profile
  return {...profile, share: profile.share ? composeShares(profile.share, share) : share}
}

/** Publisher (or shard) `index` of `count` equal ones. */
export function equalShare(index: number, count: number): Share {
  if (!(Number.isInteger(count) && count > 0 && Number.isInteger(index) && index >= 0 && index < count)) {
    throw new RangeError(`no share ${index} of ${count}`)
  }
  return {period: count, positions: [index]}
}

const MAX_SHARE_PERIOD = 10_000_000

/**
 * Share `index` of shares weighted by `weights` (whole numbers, e.g. each shard's number of clients), so a shard
 * with 4 of 10 clients sends 4/10 of the messages. The indexes of one period are dealt by smooth weighted
 * round-robin, which spreads each share's messages evenly over the period instead of in one block.
 */
export function weightedShare(weights: readonly number[], index: number): Share {
  if (!weights.every((w) => Number.isInteger(w) && w >= 0)) throw new RangeError('share weights must be whole numbers >= 0')
  if (!(Number.isInteger(index) && index >= 0 && index < weights.length)) throw new RangeError(`no share ${index} of ${weights.length}`)
  const period = weights.reduce((a, b) => a + b, 0)
  if (period === 0 || period > MAX_SHARE_PERIOD) throw new RangeError(`share weights must add up to between 1 and ${MAX_SHARE_PERIOD}`)
  const current = weights.map(() => 0)
  const positions: number[] = []
  for (let k = 0; k < period; k++) {
    let pick = 0
    for (let i = 0; i < weights.length; i++) {
      current[i] += weights[i]
      if (current[i] > current[pick]) pick = i
    }
    current[pick] -= period
    if (pick === index) positions.push(k)
  }
  return {period, positions}
}

function checkShare(share: Share): void {
  const {period, positions} = share
  const ok =
    Number.isInteger(period) &&
    period > 0 &&
    positions.every((p, i) => Number.isInteger(p) && p >= 0 && p < period && (i === 0 || p > positions[i - 1]))
  if (!ok) throw new RangeError(`not a share: ${positions.length} positions of ${period} must be ascending whole numbers below the period`)
}

/**
 * `inner` picks from the indexes `outer` owns. Index q of the outer share's own sequence is the whole run's
 * ⌊q/w₁⌋·W₁ + P₁[q mod w₁]; the inner pattern repeats every W₂ of those, so the composite repeats every
 * L = lcm(W₂, w₁) outer indexes, i.e. every (L/w₁)·W₁ of the whole run's.
 */
function composeShares(outer: Share, inner: Share): Share {
  const w1 = outer.positions.length
  if (w1 === 0) return outer
  const span = lcm(inner.period, w1)
  const period = (span / w1) * outer.period
  if (period > MAX_SHARE_PERIOD) throw new RangeError(`splitting this share again needs a period of ${period}; keep it below ${MAX_SHARE_PERIOD}`)
  const positions: number[] = []
  for (let base = 0; base < span; base += inner.period) {
    for (const p of inner.positions) {
      const q = base + p
      positions.push(Math.floor(q / w1) * outer.period + outer.positions[q % w1])
    }
  }
  return {period, positions}
}

function lcm(a: number, b: number): number {
  let x = a
  let y = b
  while (y) [x, y] = [y, x % y]
  return (a / x) * b
}

interface PlannedStage extends LoadStage {
  /** Start of the stage, ms from the start of the run. */
  readonly startMs: number
  /** Λ at the start of the stage: messages planned before it (a real number). */
  readonly before: number
  /** Λ over the whole stage. */
  readonly count: number
}

/**
 * The compiled schedule of one rate profile (whole run or a share), immutable. Times are ms from the start of the
 * run; indexes are this profile's own (0, 1, … for each publisher), rates are per second.
 */
export class RatePlan {
  /** Messages this profile plans over the whole run; Infinity for an open-ended run. */
  readonly total: number
  /** Length of the run's plan in ms (the stages' sum); Infinity for an open-ended run. */
  readonly durationMs: number
  /** Part of the whole run this profile sends (1 without a share). */
  readonly fraction: number
  private readonly stages: PlannedStage[]
  private readonly runTotal: number
  private readonly period: number
  private readonly positions: readonly number[]

  constructor(profile: RateProfile) {
    if (profile.stages.length === 0) throw new RangeError('a rate profile needs at least one stage')
    const stages: PlannedStage[] = []
    let startMs = 0
    let before = 0
    profile.stages.forEach((s, i) => {
      const last = i === profile.stages.length - 1
      const validRates = [s.startRate, s.endRate].every((r) => Number.isFinite(r) && r >= 0)
      const validDuration = s.durationMs > 0 && (Number.isFinite(s.durationMs) || (last && s.startRate === s.endRate))
      if (!validRates || !validDuration) throw new RangeError(`stage ${i + 1} is not a valid stage: ${JSON.stringify(s)}`)
      const stage = {...s, startMs, before, count: 0}
      stage.count = stageIntegral(stage, s.durationMs)
      stages.push(stage)
      startMs += s.durationMs
      before += stage.count
    })
    this.stages = stages
    this.durationMs = startMs
    this.runTotal = Math.min(profile.limit ?? Number.POSITIVE_INFINITY, ceilOf(before))
    const share = profile.share ?? {period: 1, positions: [0]}
    checkShare(share)
    this.period = share.period
    this.positions = share.positions
    this.fraction = share.positions.length / share.period
    this.total = this.fromRunCount(this.runTotal)
  }

  /** The intended send time of message `index` (ms from the start of the run); Infinity past the plan's end. */
  timeOf(index: number): number {
    if (!(Number.isInteger(index) && index >= 0)) throw new RangeError(`a message index is a whole number >= 0, got ${index}`)
    if (index >= this.total) return Number.POSITIVE_INFINITY
    const w = this.positions.length
    return this.runTimeOf(Math.floor(index / w) * this.period + this.positions[index % w])
  }

  /** Messages planned in [0, untilMs): those whose intended time is before `untilMs`. */
  countBefore(untilMs: number): number {
    return this.fromRunCount(this.runCount(untilMs, false))
  }

  /** Messages planned in [0, atMs]: those whose intended time has come at `atMs`. */
  countBy(atMs: number): number {
    return this.fromRunCount(this.runCount(atMs, true))
  }

  /** This profile's target rate at `atMs`, per second (0 outside the stages). */
  rateAt(atMs: number): number {
    if (atMs < 0 || atMs >= this.durationMs) return 0
    const s = this.stages[this.stageAtTime(atMs)]
    const rate = s.startRate === s.endRate ? s.startRate : s.startRate + ((s.endRate - s.startRate) * (atMs - s.startMs)) / s.durationMs
    return rate * this.fraction
  }

  /**
   * Whole-run messages with intended time < t (or <= t). ⌈Λ(t)⌉ is exact in real numbers; in floating point it is
   * nudged against runTimeOf() so that counting and the stamped intended times never disagree by one.
   */
  private runCount(t: number, inclusive: boolean): number {
    if (t < 0 || (t === 0 && !inclusive)) return 0
    let n = Math.min(this.runTotal, ceilOf(this.integral(t)))
    const passed = (k: number): boolean => (inclusive ? this.runTimeOf(k) <= t : this.runTimeOf(k) < t)
    while (n > 0 && !passed(n - 1)) n--
    while (n < this.runTotal && passed(n)) n++
    return n
  }

  private runTimeOf(k: number): number {
    if (k >= this.runTotal) return Number.POSITIVE_INFINITY
    // The last stage whose start has fewer than k planned before it: a stage at 0/s is skipped, so the message
    // after a pause leaves when the rate resumes.
    let lo = 0
    let hi = this.stages.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.stages[mid].before <= k) lo = mid
      else hi = mid - 1
    }
    const s = this.stages[lo]
    return s.startMs + stageTimeOf(s, k - s.before)
  }

  /** Λ(t), messages planned in [0, t) of the whole run, as a real number. */
  private integral(t: number): number {
    if (t >= this.durationMs) {
      const last = this.stages[this.stages.length - 1]
      return last.before + last.count
    }
    const s = this.stages[this.stageAtTime(t)]
    return s.before + stageIntegral(s, t - s.startMs)
  }

  private stageAtTime(t: number): number {
    let lo = 0
    let hi = this.stages.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.stages[mid].startMs <= t) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** This profile's messages among the whole run's first n: ⌊n/W⌋·w plus the positions below n mod W. */
  private fromRunCount(n: number): number {
    if (n === Number.POSITIVE_INFINITY) return this.positions.length > 0 ? n : 0
    const rest = n % this.period
    // Positions are ascending: binary search for how many lie below `rest` (a weighted share can have many).
    let lo = 0
    let hi = this.positions.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.positions[mid] < rest) lo = mid + 1
      else hi = mid
    }
    return Math.floor(n / this.period) * this.positions.length + lo
  }
}

/** Messages planned in the first `tau` ms of a stage: a·τ + (b − a)·τ²/(2D), rates per second. */
function stageIntegral(s: LoadStage, tau: number): number {
  // Rate times time first and one division last, so whole rates over whole milliseconds count exactly.
  if (s.startRate === s.endRate) return s.startRate === 0 ? 0 : (s.startRate * tau) / 1000
  return (s.startRate * tau + ((s.endRate - s.startRate) * tau * tau) / (2 * s.durationMs)) / 1000
}

/** τ at which a stage has planned `m` messages: the positive root of c·τ² + a·τ − 1000m = 0, c = (b − a)/2D. */
function stageTimeOf(s: LoadStage, m: number): number {
  if (m <= 0) return 0
  const target = m * 1000
  const a = s.startRate
  if (s.endRate === a) return target / a
  const c = (s.endRate - a) / (2 * s.durationMs)
  // 2M / (a + √(a² + 4cM)) is the textbook root with the subtraction rationalised away: accurate when c → 0.
  const tau = (2 * target) / (a + Math.sqrt(Math.max(0, a * a + 4 * c * target)))
  return Math.min(tau, s.durationMs)
}

/** ⌈x⌉ that forgives the last few bits of rounding (x = 1000.0000000000001 is 1000 messages, not 1001). */
function ceilOf(x: number): number {
  if (x === Number.POSITIVE_INFINITY) return x
  return Math.max(0, Math.ceil(x - Math.max(1, x) * 1e-12))
}

const plans = new WeakMap<RateProfile, RatePlan>()

/** The compiled plan of a profile, built once per profile object. */
export function ratePlan(profile: RateProfile): RatePlan {
  let plan = plans.get(profile)
  if (!plan) {
    plan = new RatePlan(profile)
    plans.set(profile, plan)
  }
  return plan
}

/** How many messages the profile plans in [0, untilMs): ⌈Λ(untilMs)⌉, capped by the plan's end. */
export function plannedCount(profile: RateProfile, untilMs: number): number {
  return ratePlan(profile).countBefore(untilMs)
}

/** The intended send time of the profile's message `index`, ms from the start of the run (Infinity past the end). */
export function plannedTimeOf(profile: RateProfile, index: number): number {
  return ratePlan(profile).timeOf(index)
}

/** One line for summaries and dry runs: `ramp 0/s → 10,000/s over 30s, then 10,000/s for 1m`. */
export function describeLoadProfile(profile: LoadProfile): string {
  if (profile.kind === 'max') return `max (closed loop, ${profile.inflightPerClient} in flight per client)`
  const plan = ratePlan(profile)
  const stages = profile.stages.map((s) => {
    const over = Number.isFinite(s.durationMs) ? formatDuration(s.durationMs) : 'until stopped'
    const scaled = (r: number): string => formatRate(r * plan.fraction)
    if (s.startRate === s.endRate) return `${scaled(s.startRate)} ${Number.isFinite(s.durationMs) ? `for ${over}` : over}`
    return `ramp ${scaled(s.startRate)} → ${scaled(s.endRate)} over ${over}`
  })
  const limit = profile.limit === undefined ? '' : `, at most ${plan.total} messages`
  const share = profile.share ? ` (${profile.share.positions.length}/${profile.share.period} of the run)` : ''
  return `${stages.join(', then ')}${limit}${share}`
}
