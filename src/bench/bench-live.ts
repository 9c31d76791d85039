import {subscriptionFilter} from './bench-shard.js'
import {availableParallelism} from 'node:os'
import type {HealthSampler} from '../metrics/health-sampler.js'
import {formatNumber, formatRate} from '../metrics/format.js'
import {summarize, type LatencyHistogram} from '../metrics/histogram.js'
import {IntervalHistograms} from '../metrics/interval-histograms.js'
import type {LatencyDistribution} from '../metrics/observation.js'
import {describeLoadProfile, ratePlan} from '../pacing/load-profile.js'
import type {BenchMode, TimelinePoint} from './bench-result.js'
import {BenchTimeline} from './bench-timeline.js'
import {benchNowMicros} from './latency-header.js'
import type {BenchWorkerCounts, BenchWorkerStats} from './protocol.js'
import type {BenchPhase, BenchRequest, BenchSnapshot} from './bench-request.js'

/** What the bench workers have reported: the latest counts of each, the run's and the interval's histograms. */
export class BenchStats {
  readonly histograms = new IntervalHistograms(['latency', 'uncorrected', 'ack', 'connect'] as const)
  worstScheduleLagMs = 0
  /** Bench-clock µs of the last measured delivery, 0 before the first. */
  lastArrivalUs = 0
  /** Bench-clock µs of the first measured delivery, 0 before it. */
  firstArrivalUs = 0
  /** The per-second rows, once the run's start is known (`go`); reports before it carry no seconds. */
  timeline: BenchTimeline | undefined
  private readonly latest = new Map<number, BenchWorkerStats>()

  constructor(private readonly health: HealthSampler) {}

  absorb(stats: BenchWorkerStats): void {
    this.latest.set(stats.workerId, stats)
    for (const d of ['latency', 'uncorrected', 'ack', 'connect'] as const) this.histograms.add(d, stats[d])
    this.health.noteWorkerLag(stats.workerId, stats.eventLoopLagP99Ms, stats.eventLoopLagRunP99Ms)
    this.worstScheduleLagMs = Math.max(this.worstScheduleLagMs, stats.worstScheduleLagMs)
    this.lastArrivalUs = Math.max(this.lastArrivalUs, stats.lastArrivalUs)
    if (stats.firstArrivalUs > 0 && (this.firstArrivalUs === 0 || stats.firstArrivalUs < this.firstArrivalUs)) this.firstArrivalUs = stats.firstArrivalUs
    this.timeline?.absorb(stats)
  }

  /** Counts are cumulative per worker: the sum of each worker's latest report. */
  totals(): BenchWorkerCounts {
    const t: Required<BenchWorkerCounts> = {
      planned: 0, sent: 0, sentTotal: 0, acked: 0, dropped: 0, late: 0, errors: 0, received: 0, distinct: 0, duplicates: 0, reordered: 0, foreign: 0, holes: 0, connected: 0, attempts: 0, windowFullMs: 0,
      droppedDown: 0, disconnects: 0, down: 0,
    }
    for (const s of this.latest.values()) for (const k of Object.keys(t) as Array<keyof BenchWorkerCounts>) t[k] += s.counts[k] ?? 0
    return t
  }
}

/** The load in words: conn mode's schedule ends with its last connection, not "until stopped". */
export function loadText(req: Pick<BenchRequest, 'mode' | 'profile' | 'publishers' | 'topic' | 'subscribeTopic'>): string {
  // Subscribe-only sends nothing: the pace (and the closed loop of --rate max) belongs to publishers it does not run.
  if (req.mode === 'sub') return `listening on '${subscriptionFilter(req)}' to another publisher's load`
  if (req.mode === 'conn' && req.profile.kind === 'rate') {
    return `${formatRate(ratePlan(req.profile).rateAt(0), 'conn')} until ${formatNumber(req.publishers)} connections are open`
  }
  return describeLoadProfile(req.profile)
}

export function headlineOf(mode: BenchMode): LatencyDistribution {
  return mode === 'pub' ? 'ack' : mode === 'conn' ? 'connect' : 'latency'
}

/**
 * How long after a second of the run ends the live view shows it: the workers report at each second's boundary,
 * and their reports need a moment to arrive.
 */
export const LIVE_TICK_GRACE_MS = 250

/** The once-a-second view of a running bench: health, the last complete second's rates and latency, the snapshot. */
export class BenchLive {
  phase: BenchPhase = 'connecting'
  readonly cores = availableParallelism()
  health: BenchSnapshot['health']
  /** CPU mark at the start of the measured window (after warm-up), once it began. */
  measuredCpuStart: NodeJS.CpuUsage | undefined
  private readonly headline: LatencyDistribution

  constructor(
    private readonly req: BenchRequest,
    private readonly stats: BenchStats,
    private readonly sampler: HealthSampler,
    private readonly view: {broker: string; startedAtMs: number; plannedMs: number | undefined; shardFraction: number; totalClients: number; subscribers: number},
  ) {
    this.health = {cpuPercent: 0, rssBytes: sampler.peakRssBytes, eventLoopLagP99Ms: 0, cores: this.cores}
    this.headline = headlineOf(req.mode)
    stats.timeline = new BenchTimeline(this.headline, view.startedAtMs + req.warmupMs)
  }

  /** The run's rows from second 0 (the measured window) to the last second anything happened in. */
  get timeline(): TimelinePoint[] {
    return (this.stats.timeline as BenchTimeline).points(this.view.subscribers > 0)
  }

  /**
   * Milliseconds until the next tick is due: just after the current second of the run ends, and not before the
   * load's first whole second has (a second from before the start would show an idle client).
   */
  msToNextTick(): number {
    const timeline = this.stats.timeline as BenchTimeline
    const nowMs = benchNowMicros() / 1000
    const firstEnd = Math.ceil((this.view.startedAtMs + 1000 - timeline.measureFromMs) / 1000)
    const nextBoundary = timeline.measureFromMs + Math.max(timeline.secondAt(nowMs) + 1, firstEnd) * 1000
    return Math.max(1, nextBoundary + LIVE_TICK_GRACE_MS - nowMs)
  }

  tick(): void {
    const {req, stats, view, headline} = this
    const mode = req.mode
    this.health = {...this.sampler.sample(), cores: this.cores}
    const c = stats.totals()
    // The last complete second of the run (a warm-up second is negative): what left and arrived in it.
    const timeline = stats.timeline as BenchTimeline
    const shown = timeline.secondAt(benchNowMicros() / 1000) - 1
    const last = timeline.second(shown)
    const sentPerSec = last.sent
    const receivedPerSec = view.subscribers > 0 ? last.received : null
    const loadElapsed = Date.now() - view.startedAtMs
    if (this.phase === 'warm-up' && loadElapsed >= req.warmupMs) {
      this.phase = 'running'
      this.measuredCpuStart = process.cpuUsage()
    }
    const h = stats.histograms
    const intervalSummary = last.summary
    const profile = req.profile
    req.onSnapshot?.({
      mode,
      phase: this.phase,
      elapsedMs: Math.max(0, loadElapsed),
      plannedMs: view.plannedMs,
      broker: view.broker,
      load: loadText(req),
      // The schedule's rate in the middle of the second shown, so a step in the stages shows in the same row as the sends.
      targetPerSec: profile.kind === 'rate' ? ratePlan(profile).rateAt(Math.max(0, req.warmupMs + (shown + 0.5) * 1000)) * view.shardFraction : null,
      intervalStartMs: Math.round(timeline.measureFromMs + shown * 1000),
      sentPerSec,
      receivedPerSec,
      clients: {connected: c.connected, total: view.totalClients},
      counts: c,
      headline,
      interval: intervalSummary,
      cumulative: summarize(h.run[headline]),
      uncorrected: mode === 'e2e' || mode === 'sub' ? summarize(h.run.uncorrected) : undefined,
      ack: mode === 'e2e' && req.qos > 0 ? summarize(h.run.ack) : undefined,
      percentileCurve: percentileCurve(h.run[headline]),
      health: this.health,
    })
    h.nextInterval()
  }
}

/** Points of the log-scale percentile plot: percentiles 0, 90, 99, 99.9 ... as far as the count supports. */
function percentileCurve(h: LatencyHistogram): Array<[number, number]> {
  if (h.totalCount === 0) return []
  const points: Array<[number, number]> = []
  for (let nines = 0; nines <= 5; nines += 0.25) {
    const p = 100 * (1 - 10 ** -nines)
    if (nines > 0 && 10 ** nines > h.totalCount) break
    points.push([p, h.getValueAtPercentile(p) / 1000])
  }
  points.push([100, h.maxValue / 1000])
  return points
}
