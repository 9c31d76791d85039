import {availableParallelism} from 'node:os'
import type {HealthSampler} from '../metrics/health-sampler.js'
import {encodeHistogram, summarize, type LatencyHistogram} from '../metrics/histogram.js'
import {IntervalHistograms} from '../metrics/interval-histograms.js'
import type {LatencyDistribution} from '../metrics/observation.js'
import {describeLoadProfile, ratePlan} from '../pacing/load-profile.js'
import type {BenchMode, TimelinePoint} from './bench-result.js'
import type {BenchWorkerCounts, BenchWorkerStats} from './protocol.js'
import type {BenchPhase, BenchRequest, BenchSnapshot} from './bench-request.js'

/** What the bench workers have reported: the latest counts of each, the run's and the interval's histograms. */
export class BenchStats {
  readonly histograms = new IntervalHistograms(['latency', 'uncorrected', 'ack', 'connect'] as const)
  worstScheduleLagMs = 0
  /** Bench-clock µs of the last measured delivery, 0 before the first. */
  lastArrivalUs = 0
  private readonly latest = new Map<number, BenchWorkerStats>()

  constructor(private readonly health: HealthSampler) {}

  absorb(stats: BenchWorkerStats): void {
    this.latest.set(stats.workerId, stats)
    for (const d of ['latency', 'uncorrected', 'ack', 'connect'] as const) this.histograms.add(d, stats[d])
    this.health.noteWorkerLag(stats.eventLoopLagP99Ms)
    this.worstScheduleLagMs = Math.max(this.worstScheduleLagMs, stats.worstScheduleLagMs)
    this.lastArrivalUs = Math.max(this.lastArrivalUs, stats.lastArrivalUs)
  }

  /** Counts are cumulative per worker: the sum of each worker's latest report. */
  totals(): BenchWorkerCounts {
    const t: BenchWorkerCounts = {planned: 0, sent: 0, sentTotal: 0, acked: 0, dropped: 0, late: 0, errors: 0, received: 0, distinct: 0, duplicates: 0, reordered: 0, foreign: 0, holes: 0, connected: 0, attempts: 0}
    for (const s of this.latest.values()) for (const k of Object.keys(t) as Array<keyof BenchWorkerCounts>) t[k] += s.counts[k]
    return t
  }
}

export function headlineOf(mode: BenchMode): LatencyDistribution {
  return mode === 'pub' ? 'ack' : mode === 'conn' ? 'connect' : 'latency'
}

/** The once-a-second view of a running bench: health, rates, the timeline point and the snapshot for the reporter. */
export class BenchLive {
  phase: BenchPhase = 'connecting'
  readonly timeline: TimelinePoint[] = []
  readonly cores = availableParallelism()
  health: BenchSnapshot['health']
  /** CPU mark at the start of the measured window (after warm-up), once it began. */
  measuredCpuStart: NodeJS.CpuUsage | undefined
  private lastCounts: BenchWorkerCounts
  private lastTickAt = performance.now()
  private readonly headline: LatencyDistribution

  constructor(
    private readonly req: BenchRequest,
    private readonly stats: BenchStats,
    private readonly sampler: HealthSampler,
    private readonly view: {broker: string; startedAtMs: number; plannedMs: number | undefined; shardFraction: number; totalClients: number; subscribers: number},
  ) {
    this.health = {cpuPercent: 0, rssBytes: sampler.peakRssBytes, eventLoopLagP99Ms: 0, cores: this.cores}
    this.lastCounts = stats.totals()
    this.headline = headlineOf(req.mode)
  }

  tick(): void {
    const {req, stats, view, headline} = this
    const mode = req.mode
    const now = performance.now()
    const elapsed = now - this.lastTickAt
    this.lastTickAt = now
    this.health = {...this.sampler.sample(), cores: this.cores}
    const c = stats.totals()
    // What is leaving now, warm-up included (the measured counts start after it).
    const sentPerSec = ((mode === 'conn' ? c.connected - this.lastCounts.connected : c.sentTotal - this.lastCounts.sentTotal) * 1000) / Math.max(1, elapsed)
    const receivedPerSec = view.subscribers > 0 ? ((c.received - this.lastCounts.received) * 1000) / Math.max(1, elapsed) : null
    this.lastCounts = c
    const loadElapsed = Date.now() - view.startedAtMs
    if (this.phase === 'warm-up' && loadElapsed >= req.warmupMs) {
      this.phase = 'running'
      this.measuredCpuStart = process.cpuUsage()
    }
    const h = stats.histograms
    const intervalSummary = summarize(h.interval[headline])
    this.timeline.push({
      t: Math.round(Date.now() - elapsed),
      sentPerSec,
      receivedPerSec,
      p50: intervalSummary.count > 0 ? intervalSummary.p50 : null,
      p99: intervalSummary.count > 0 ? intervalSummary.p99 : null,
      histogram: encodeHistogram(h.interval[headline]),
    })
    const profile = req.profile
    req.onSnapshot?.({
      mode,
      phase: this.phase,
      elapsedMs: Math.max(0, loadElapsed),
      plannedMs: view.plannedMs,
      broker: view.broker,
      load: describeLoadProfile(profile),
      targetPerSec: profile.kind === 'rate' ? ratePlan(profile).rateAt(Math.max(0, loadElapsed)) * view.shardFraction : null,
      sentPerSec,
      receivedPerSec,
      clients: {connected: c.connected, total: view.totalClients},
      counts: c,
      headline,
      interval: intervalSummary,
      cumulative: summarize(h.run[headline]),
      uncorrected: mode === 'e2e' || mode === 'sub' ? summarize(h.run.uncorrected) : undefined,
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
