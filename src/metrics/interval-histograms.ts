import {createHistogram, mergeEncoded, type LatencyHistogram} from './histogram.js'

/**
 * Named latency histograms kept twice: for the whole run and for the current interval (the live view's second).
 * Workers post encoded histograms of their interval; each goes into both at once.
 */
export class IntervalHistograms<N extends string> {
  readonly run: Record<N, LatencyHistogram>
  interval: Record<N, LatencyHistogram>

  constructor(private readonly names: readonly N[]) {
    this.run = this.fresh()
    this.interval = this.fresh()
  }

  /** Adds a worker's encoded interval histogram to the run and to the current interval. */
  add(name: N, encoded: string): void {
    mergeEncoded(encoded, this.run[name], this.interval[name])
  }

  /** Starts the next interval. */
  nextInterval(): void {
    for (const n of this.names) this.interval[n].destroy()
    this.interval = this.fresh()
  }

  destroy(): void {
    for (const n of this.names) {
      this.run[n].destroy()
      this.interval[n].destroy()
    }
  }

  private fresh(): Record<N, LatencyHistogram> {
    return Object.fromEntries(this.names.map((n) => [n, createHistogram()])) as Record<N, LatencyHistogram>
  }
}
