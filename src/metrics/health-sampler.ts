import {performance} from 'node:perf_hooks'
import {LoopDelay} from './loop-delay.js'

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
  private readonly mainLoop = new LoopDelay()
  private cpuMark = process.cpuUsage()
  private markAt = performance.now()
  private readonly startCpu = process.cpuUsage()
  private readonly startAt = performance.now()
  private workerLag = 0
  /** Each worker's latest p99 over the run so far. */
  private readonly workerRunLag = new Map<number, number>()

  constructor() {
    this.mainLoop.start()
  }

  /** A worker's report: its p99 over the interval, and over the run so far. */
  noteWorkerLag(workerId: number, p99Ms: number, runP99Ms: number): void {
    this.workerLag = Math.max(this.workerLag, p99Ms)
    this.workerRunLag.set(workerId, runP99Ms)
  }

  /**
   * The whole run's health, for the summary: CPU since the sampler was made, and the p99 event-loop delay over the
   * run of the busiest thread (the main thread's or a worker's).
   */
  runHealth(): {cpuPercent: number; eventLoopLagP99Ms: number} {
    const cpu = process.cpuUsage(this.startCpu)
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / Math.max(1, performance.now() - this.startAt)) * 100
    return {cpuPercent, eventLoopLagP99Ms: Math.max(this.mainLoop.runP99Ms(), ...this.workerRunLag.values())}
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
    const eventLoopLagP99Ms = Math.max(this.workerLag, this.mainLoop.takeIntervalP99Ms())
    this.workerLag = 0
    return {cpuPercent, rssBytes, eventLoopLagP99Ms}
  }

  /** Memory at the end counts too (a run shorter than one interval). */
  stop(): void {
    this.peakRssBytes = Math.max(this.peakRssBytes, process.memoryUsage.rss())
    this.mainLoop.stop()
  }
}
