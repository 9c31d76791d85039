import {encodeHistogram, mergeEncoded, summarize, type LatencySummary} from '../metrics/histogram.js'
import type {LatencyDistribution} from '../metrics/observation.js'
import type {TimelinePoint} from './bench-result.js'
import type {BenchWorkerStats} from './protocol.js'

/**
 * The per-second timeline of a bench run, built on the main thread from the workers' reports. A row is one second
 * of the run (second 0 begins the measured window) and holds the sends and deliveries that happened in it, counted
 * where they happened (see second-counts.ts), so the rows of the measured window add up to the run's counts
 * exactly, and a row is labelled by the second it covers whenever the report carrying it arrives. The headline
 * distribution of each row comes from the workers' reports labelled with that second (they report at every
 * second boundary).
 */

interface Row {
  sent: number
  received: number
  /** Encoded headline histograms of the reports labelled with this second, not yet folded into `encoded`. */
  parts: string[]
  encoded?: string
  summary?: LatencySummary
}

const EMPTY_SUMMARY: LatencySummary = {count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}

export class BenchTimeline {
  private readonly rows = new Map<number, Row>()

  /**
   * @param measureFromMs start of the measured window, epoch ms (the bench clock's): where second 0 begins.
   */
  constructor(
    private readonly headline: LatencyDistribution,
    readonly measureFromMs: number,
  ) {}

  absorb(stats: BenchWorkerStats): void {
    for (const [second, n] of stats.sentBySecond) this.row(second).sent += n
    for (const [second, n] of stats.receivedBySecond) this.row(second).received += n
    // The warm-up's samples are not measured: its histograms are empty, except connect times, which are not its.
    if (stats.second !== null && stats.second >= 0) {
      const row = this.row(stats.second)
      row.parts.push(stats[this.headline])
      row.summary = undefined
    }
  }

  /** The second in progress at `nowMs` (epoch ms); the one before it is the last complete one. */
  secondAt(nowMs: number): number {
    return Math.floor((nowMs - this.measureFromMs) / 1000)
  }

  /** One second's figures: sends, deliveries and the headline distribution's summary (for the live view). */
  second(second: number): {sent: number; received: number; summary: LatencySummary} {
    const row = this.rows.get(second)
    if (!row) return {sent: 0, received: 0, summary: EMPTY_SUMMARY}
    this.fold(row)
    return {sent: row.sent, received: row.received, summary: row.summary ?? EMPTY_SUMMARY}
  }

  /**
   * The measured window's rows, second 0 to the last second anything happened in (seconds with nothing are rows of
   * zeros: silence is a figure). Each row's rates are its counts: a row is one second.
   */
  points(hasReceiver: boolean): TimelinePoint[] {
    const seconds = [...this.rows.keys()].filter((s) => s >= 0)
    if (seconds.length === 0) return []
    const last = Math.max(...seconds)
    const points: TimelinePoint[] = []
    for (let s = 0; s <= last; s++) {
      const row = this.rows.get(s)
      if (row) this.fold(row)
      const summary = row?.summary
      const point: TimelinePoint = {
        t: Math.round(this.measureFromMs + s * 1000),
        sentPerSec: row?.sent ?? 0,
        receivedPerSec: hasReceiver ? (row?.received ?? 0) : null,
        p50: summary && summary.count > 0 ? summary.p50 : null,
        p99: summary && summary.count > 0 ? summary.p99 : null,
      }
      if (row?.encoded !== undefined) point.histogram = row.encoded
      points.push(point)
    }
    return points
  }

  private row(second: number): Row {
    let row = this.rows.get(second)
    if (!row) {
      row = {sent: 0, received: 0, parts: []}
      this.rows.set(second, row)
    }
    return row
  }

  /** Adds the row's pending histograms into its encoded one (a late report reopens a row; this folds it again). */
  private fold(row: Row): void {
    if (row.parts.length === 0 && row.summary !== undefined) return
    if (row.parts.length === 0 && row.encoded === undefined) return
    let h = row.encoded === undefined ? undefined : mergeEncoded(row.encoded)
    try {
      for (const part of row.parts) h = mergeEncoded(part, h)
      row.parts = []
      if (!h) return
      row.encoded = encodeHistogram(h)
      row.summary = summarize(h)
    } finally {
      h?.destroy()
    }
  }
}
