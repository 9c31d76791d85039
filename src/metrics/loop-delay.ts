import {monitorEventLoopDelay, type IntervalHistogram} from 'node:perf_hooks'

/**
 * This thread's event-loop delay as a p99 per interval (the live view) and over the whole run (the summary): a run's
 * figure is its own, not its last second's, which could hide a worker that was behind for the rest of the run.
 */
export class LoopDelay {
  private readonly interval: IntervalHistogram = monitorEventLoopDelay({resolution: 10})
  private readonly run: IntervalHistogram = monitorEventLoopDelay({resolution: 10})

  start(): void {
    this.interval.enable()
    this.run.enable()
  }

  stop(): void {
    this.interval.disable()
    this.run.disable()
  }

  /** p99 in ms since the previous call (or the start); starts the next interval. */
  takeIntervalP99Ms(): number {
    const p99 = p99Ms(this.interval)
    this.interval.reset()
    return p99
  }

  /** p99 in ms since the start. */
  runP99Ms(): number {
    return p99Ms(this.run)
  }
}

const p99Ms = (h: IntervalHistogram): number => (h.count > 0 ? h.percentile(99) / 1e6 : 0)
