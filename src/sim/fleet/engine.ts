import {availableParallelism} from 'node:os'
import {appendFileSync, writeFileSync} from 'node:fs'
import {monitorEventLoopDelay, performance} from 'node:perf_hooks'
import type {Worker} from 'node:worker_threads'
import {createHistogram, mergeEncoded, summarize, type LatencySummary} from '../../metrics/histogram.js'
import type {Scenario} from '../scenario/index.js'
import {emptyCounters, type AnomalyLabel, type DeviceSpec, type FleetCounters, type LatencyFigures, type SimSnapshot, type SimSummary} from '../types.js'
import type {FromWorker, StageCommand, ToWorker, WorkerSetup, WorkerStats} from './protocol.js'
import {spawnWorker} from '../../workers/worker-threads.js'

/**
 * The fleet engine's main-thread half: shards devices over worker_threads, drives the stages (ramps, storms),
 * merges the workers' counters and HDR histograms once a second into a SimSnapshot, and returns the SimSummary.
 */

export interface FleetRunOptions {
  scenario: Scenario
  scenarioName: string
  devices: DeviceSpec[]
  brokerUrl: string
  /** Shown in the summary (a URL without secrets). */
  brokerLabel: string
  embeddedBroker: boolean
  workers?: number
  durationMs?: number
  messageLimit?: number
  sourceAddresses?: string[]
  labelsFile?: string
  onSnapshot?: (snapshot: SimSnapshot) => void
  onLog?: (message: string, level: 'info' | 'warn' | 'error') => void
  /** Aborting stops the run early (Ctrl-C); the summary is then marked interrupted. */
  signal?: AbortSignal
  /** How long a clean stop waits for in-flight QoS 1/2 acks. */
  drainMs?: number
}

const DEVICES_PER_WORKER = 2500

/** Workers: enough to spread the fleet, never more than the cores (the main thread also needs one). */
export function defaultWorkerCount(devices: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(Math.max(1, cores - 1), Math.ceil(devices / DEVICES_PER_WORKER)))
}

/** The stage plan: explicit stages, or one ramp to the whole fleet at the scenario's connect rate. */
export function planStages(scenario: Scenario, deviceCount: number): Array<{label: string; command?: StageCommand; holdMs: number}> {
  if (scenario.stages.length === 0) {
    const c = scenario.connect
    const overMs = 'over' in c ? c.over : (deviceCount / c.rate) * 1000
    return [{label: 'ramp', command: {kind: 'ramp', toShare: 1, overMs}, holdMs: overMs}]
  }
  return scenario.stages.map((stage) => {
    switch (stage.kind) {
      case 'ramp':
        return {label: `ramp to ${Math.round(stage.to * 100)}%`, command: {kind: 'ramp', toShare: stage.to, overMs: stage.over}, holdMs: stage.over}
      case 'storm':
        return {label: `storm ${Math.round(stage.drop * 100)}%`, command: {kind: 'storm', dropShare: stage.drop}, holdMs: 0}
      case 'steady':
        return {label: 'steady', holdMs: stage.for}
    }
  })
}

export async function runFleet(opts: FleetRunOptions): Promise<SimSummary> {
  const {scenario, devices} = opts
  const workerCount = Math.min(devices.length, opts.workers ?? defaultWorkerCount(devices.length))
  const startEpochMs = Date.now()
  const startMono = performance.now()
  const warnings: string[] = []
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info') => {
    if (level === 'warn' && !warnings.includes(message)) warnings.push(message)
    opts.onLog?.(message, level)
  }

  // Deltas are summed into cumulative counters; per worker the latest stats give the gauges (connected) and the
  // latest rates (each over the worker's own interval, so drifting timers never show 0 or 2x the rate).
  const fleetNames = [...new Set(devices.map((d) => d.fleet))]
  const targets = new Map(fleetNames.map((f) => [f, devices.filter((d) => d.fleet === f).length]))
  const total = new Map(fleetNames.map((f) => [f, emptyCounters(f)]))
  const gauges = new Map<number, WorkerStats>()
  const cumulative = {publishLag: createHistogram(), ackLatency: createHistogram(), connectLatency: createHistogram()}
  let lastInterval = {publishLag: createHistogram(), ackLatency: createHistogram()}
  let intervalLoopLag = 0
  const mainLoop = monitorEventLoopDelay({resolution: 10})
  mainLoop.enable()
  let labelCount = 0
  if (opts.labelsFile) writeFileSync(opts.labelsFile, '')

  const absorb = (stats: WorkerStats) => {
    gauges.set(stats.workerId, stats)
    for (const c of stats.fleets) addCounters(total.get(c.fleet), c)
    mergeEncoded(stats.publishLag, cumulative.publishLag, lastInterval.publishLag)
    mergeEncoded(stats.ackLatency, cumulative.ackLatency, lastInterval.ackLatency)
    mergeEncoded(stats.connectLatency, cumulative.connectLatency)
    intervalLoopLag = Math.max(intervalLoopLag, stats.eventLoopLagP99Ms)
  }
  const writeLabels = (labels: AnomalyLabel[]) => {
    labelCount += labels.length
    if (opts.labelsFile && labels.length > 0) appendFileSync(opts.labelsFile, labels.map((l) => JSON.stringify(l)).join('\n') + '\n')
  }

  // --- start workers --------------------------------------------------------------------------------------
  const workers: Worker[] = []
  const done: Array<Promise<void>> = []
  let limitReached = 0
  let finish!: () => void
  const finished = new Promise<void>((resolve) => (finish = resolve))
  let fatal: string | undefined
  let workersDone = 0
  let offset = 0
  for (let w = 0; w < workerCount; w++) {
    const share = Math.floor(devices.length / workerCount) + (w < devices.length % workerCount ? 1 : 0)
    const slice = devices.slice(offset, offset + share)
    const setup: WorkerSetup = {
      workerId: w,
      scenario,
      devices: slice,
      brokerUrl: opts.brokerUrl,
      messageLimit: opts.messageLimit === undefined ? undefined : shareOf(opts.messageLimit, offset, slice.length, devices.length),
      sourceAddresses: opts.sourceAddresses ?? [],
      firstOrdinal: offset,
    }
    offset += share
    const worker = spawnWorker(new URL('./worker-entry.js', import.meta.url))
    workers.push(worker)
    done.push(
      new Promise<void>((resolve) => {
        worker.on('message', (msg: FromWorker) => {
          switch (msg.type) {
            case 'stats':
              absorb(msg.stats)
              break
            case 'labels':
              writeLabels(msg.labels)
              break
            case 'log':
              log(msg.message, msg.level)
              break
            case 'limit-reached':
              if (++limitReached === workerCount) finish()
              break
            case 'done':
              absorb(msg.stats)
              workersDone++
              resolve()
              break
            case 'fatal':
              fatal = msg.message
              finish()
              break
          }
        })
        worker.on('error', (err) => {
          fatal = err.message
          finish()
          resolve()
        })
        worker.on('exit', () => resolve())
      }),
    )
    worker.postMessage({type: 'start', setup} satisfies ToWorker)
  }
  const broadcast = (msg: ToWorker) => {
    for (const w of workers) w.postMessage(msg)
  }

  // --- stages, snapshots, end conditions ------------------------------------------------------------------
  let stageLabel = 'starting'
  const timers: LongTimer[] = []
  const stages = planStages(scenario, devices.length)
  let at = 0
  for (const stage of stages) {
    timers.push(
      setLongTimeout(() => {
        stageLabel = stage.label
        if (stage.command) broadcast({type: 'stage', stage: stage.command})
        if (scenario.stages.length > 0) log(`stage: ${stage.label}`)
      }, at),
    )
    at += stage.holdMs
  }
  timers.push(setLongTimeout(() => (stageLabel = 'steady'), at))
  if (opts.durationMs !== undefined) timers.push(setLongTimeout(finish, opts.durationMs))
  const onAbort = () => finish()
  opts.signal?.addEventListener('abort', onAbort, {once: true})
  if (opts.signal?.aborted) finish()

  let lastCpu = process.cpuUsage()
  let lastTick = performance.now()
  let peakRss = 0
  const health = () => {
    const now = performance.now()
    const cpu = process.cpuUsage(lastCpu)
    const cpuPercent = ((cpu.user + cpu.system) / 1000 / Math.max(1, now - lastTick)) * 100
    lastCpu = process.cpuUsage()
    lastTick = now
    const rssBytes = process.memoryUsage.rss()
    peakRss = Math.max(peakRss, rssBytes)
    const loop = Math.max(intervalLoopLag, mainLoop.count > 0 ? mainLoop.percentile(99) / 1e6 : 0)
    mainLoop.reset()
    intervalLoopLag = 0
    return {cpuPercent, rssBytes, eventLoopLagP99Ms: loop}
  }
  let lastHealth = {cpuPercent: 0, rssBytes: process.memoryUsage.rss(), eventLoopLagP99Ms: 0}
  const snapshotTimer = setInterval(() => {
    const now = performance.now()
    lastHealth = health()
    const fleets = fleetNames.map((f) => withGauges(total.get(f) ?? emptyCounters(f), targets.get(f) ?? 0, gauges))
    const snapshot: SimSnapshot = {
      elapsedMs: now - startMono,
      durationMs: opts.durationMs,
      broker: opts.brokerLabel,
      fleets,
      totals: sumRates('total', fleets),
      publishLag: figures(summarize(lastInterval.publishLag)),
      ackLatency: figures(summarize(lastInterval.ackLatency)),
      health: lastHealth,
      stage: stageLabel,
    }
    lastInterval.publishLag.destroy()
    lastInterval.ackLatency.destroy()
    lastInterval = {publishLag: createHistogram(), ackLatency: createHistogram()}
    opts.onSnapshot?.(snapshot)
  }, 1000)

  await finished
  for (const t of timers) t.clear()
  // A run that ended before its first snapshot still reports the client's health.
  if (lastHealth.cpuPercent === 0) lastHealth = health()
  opts.signal?.removeEventListener('abort', onAbort)
  clearInterval(snapshotTimer)
  broadcast({type: 'stop', drainMs: opts.drainMs ?? 3000})
  // A worker that does not finish its clean stop in time is terminated; its last interval is then lost.
  const stopDeadline = new Promise<void>((resolve) => setTimeout(resolve, (opts.drainMs ?? 3000) + 5000).unref())
  await Promise.race([Promise.all(done), stopDeadline])
  if (workersDone < workerCount && !fatal) {
    log(`${workerCount - workersDone} of ${workerCount} workers did not finish their clean stop in time; their last second of counters is missing`, 'warn')
  }
  // A run shorter than one snapshot interval still reports its memory.
  peakRss = Math.max(peakRss, process.memoryUsage.rss())
  await Promise.all(workers.map((w) => w.terminate()))
  mainLoop.disable()
  if (fatal) log(`a worker failed: ${fatal}`, 'error')

  const elapsedMs = performance.now() - startMono
  // Connections as the run ended, before the clean stop disconnected everyone (from each worker's final stats).
  const fleets = fleetNames.map((f) => {
    let connected = 0
    for (const g of gauges.values()) connected += g.connectedAtStop?.[f] ?? g.fleets.find((row) => row.fleet === f)?.connected ?? 0
    return {...(total.get(f) ?? emptyCounters(f)), target: targets.get(f) ?? 0, connected}
  })
  const allConnected = [...gauges.values()].map((g) => g.allConnectedAtEpochMs)
  const summary: SimSummary = {
    schemaVersion: 1,
    scenario: opts.scenarioName,
    seed: scenario.seed,
    broker: opts.brokerLabel,
    embeddedBroker: opts.embeddedBroker,
    startedAt: new Date(startEpochMs).toISOString(),
    elapsedMs,
    interrupted: opts.signal?.aborted ?? false,
    devices: devices.length,
    workers: workerCount,
    fleets,
    totals: sumCounters('total', fleets),
    publishLag: figures(summarize(cumulative.publishLag)),
    ackLatency: figures(summarize(cumulative.ackLatency)),
    connectAllMs: allConnected.length === workerCount && allConnected.every((t) => t !== undefined)
      ? Math.max(...(allConnected as number[])) - startEpochMs
      : undefined,
    connectLatency: figures(summarize(cumulative.connectLatency)),
    health: {...lastHealth, peakRssBytes: peakRss},
    labelsFile: opts.labelsFile && labelCount > 0 ? opts.labelsFile : undefined,
    warnings,
    error: fatal === undefined ? undefined : `a fleet worker failed: ${fatal}`,
  }
  for (const h of [cumulative.publishLag, cumulative.ackLatency, cumulative.connectLatency, lastInterval.publishLag, lastInterval.ackLatency]) h.destroy()
  return summary
}

/** This worker's part of a fleet-wide total, split by device count so the parts add up to the total exactly. */
function shareOf(total: number, firstDevice: number, devices: number, allDevices: number): number {
  return Math.floor((total * (firstDevice + devices)) / allDevices) - Math.floor((total * firstDevice) / allDevices)
}

function addCounters(into: FleetCounters | undefined, c: FleetCounters): void {
  if (!into) return
  into.published += c.published
  into.acked += c.acked
  into.late += c.late
  into.suppressed += c.suppressed
  into.dropped += c.dropped
  into.errors += c.errors
  into.disconnects += c.disconnects
  into.reconnects += c.reconnects
  into.bytes += c.bytes
}

/** Cumulative counters of a fleet with the latest gauges and rate: the sum over workers of their last report. */
function withGauges(c: FleetCounters, target: number, gauges: Map<number, WorkerStats>): FleetCounters & {msgRate: number} {
  let connected = 0
  let msgRate = 0
  for (const g of gauges.values()) {
    const row = g.fleets.find((f) => f.fleet === c.fleet)
    if (!row) continue
    connected += row.connected
    msgRate += g.intervalMs > 0 ? (row.published * 1000) / g.intervalMs : 0
  }
  return {...c, connected, target, msgRate}
}

interface LongTimer {
  clear(): void
}

/** setTimeout for any delay: Node fires timers beyond 2^31-1 ms (24.8 days) at once, so long ones are re-armed. */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const MAX = 2 ** 31 - 1
  let timer: NodeJS.Timeout
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(left, MAX))
  }
  arm(ms)
  return {clear: () => clearTimeout(timer)}
}

function sumCounters(name: string, rows: FleetCounters[]): FleetCounters {
  const out = emptyCounters(name)
  for (const r of rows) {
    addCounters(out, r)
    out.connected += r.connected
    out.target += r.target
  }
  return out
}

function sumRates(name: string, rows: Array<FleetCounters & {msgRate: number}>): FleetCounters & {msgRate: number} {
  return {...sumCounters(name, rows), msgRate: rows.reduce((s, r) => s + r.msgRate, 0)}
}

function figures(s: LatencySummary): LatencyFigures {
  return {count: s.count, p50: s.p50, p90: s.p90, p99: s.p99, p999: s.p999, max: s.max}
}

