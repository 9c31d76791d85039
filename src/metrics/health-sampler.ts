import {monitorEventLoopDelay, performance} from 'node:perf_hooks'

/** The client's own health over one interval: CPU of this process, memory, the worst event-loop delay. */
export interface ClientHealthSample {
  cpuPercent: number
  rssBytes: number
  /** p99 event-loop delay, ms: the worst of the main thread and the workers' reports this interval. */
  eventLoopLagP99Ms: number
}

/**
 * Samples the load generator's health once per interval (the fleet engine and the bench both show it: a busy client
 * measures itself, not the broker). Workers report their own event-loop delay with their stats (noteWorkerLag).
 */
export class HealthSampler {
  peakRssBytes = process.memoryUsage.rss()
  private readonly mainLoop = monitorEventLoopDelay({resolution: 10})
  private cpuMark = process.cpuUsage()
  private markAt = performance.now()
  private workerLag = 0

  constructor() {
    this.mainLoop.enable()
  }

  noteWorkerLag(p99Ms: number): void {
    this.workerLag = Math.max(this.workerLag, p99Ms)
  }

  /** Health since the previous sample (or since construction); starts the next interval. */
  sample(): ClientHealthSample {
    const now = performance.now()
    const cpu = process.cpuUsage(this.cpuMark)
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / Math.max(1, now - this.markAt)) * 100
    this.cpuMark = process.cpuUsage()
    this.markAt = now
    const rssBytes = process.memoryUsage.rss()
    this.peakRssBytes = Math.max(this.peakRssBytes, rssBytes)
    const eventLoopLagP99Ms = Math.max(this.workerLag, this.mainLoop.count > 0 ? this.mainLoop.percentile(99) / 1e6 : 0)
    this.mainLoop.reset()
    this.workerLag = 0
    return {cpuPercent, rssBytes, eventLoopLagP99Ms}
  }

  /** Memory at the end counts too (a run shorter than one interval). */
  stop(): void {
    this.peakRssBytes = Math.max(this.peakRssBytes, process.memoryUsage.rss())
    this.mainLoop.disable()
  }
}
