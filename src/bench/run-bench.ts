import {availableParallelism} from 'node:os'
import {monitorEventLoopDelay} from 'node:perf_hooks'
import type {Worker} from 'node:worker_threads'
import {formatDuration} from '../config/units.js'
import {IotdError, UsageError} from '../errors.js'
import {assignSourceAddress, connectWithRetry, parseEndpointUrl, parseSourceAddresses, redactUrl, type MqttEndpoint, type ResolvedBroker} from '../net/index.js'
import {
  BENCH_RESULT_SCHEMA_VERSION,
  encodedHistogram,
  verdictRecord,
  type BenchCounts,
  type BenchMode,
  type BenchResult,
  type TimelinePoint,
} from './bench-result.js'
import {createHistogram, encodeHistogram, mergeEncoded, summarize, type LatencyHistogram, type LatencySummary} from '../metrics/histogram.js'
import {spawnWorker} from '../workers/worker-threads.js'
import {openBrokerCounter, BROKER_RECEIVED_TOPIC, type BrokerCounter} from './broker-count.js'
import {benchClockEpoch, benchNowMicros} from './latency-header.js'
import {describeLoadProfile, equalShare, ratePlan, splitProfile, type LoadProfile, type RateProfile} from '../pacing/load-profile.js'
import {statsFromHistogram, type BenchObservation, type LatencyDistribution} from '../metrics/observation.js'
import type {BenchWorkerCounts, BenchWorkerSetup, BenchWorkerStats, FromBenchWorker, PublisherSetup, SubscriberSetup, ToBenchWorker} from './protocol.js'
import type {MqttProtocolVersion, QoS} from '../net/mqtt-wire.js'
import {evaluateThresholds, type Threshold} from '../metrics/thresholds.js'

/**
 * `iotd bench` as a library call (main thread): resolves the broker, spreads the clients over bench workers,
 * starts every worker's load at one instant, merges their counters and encoded HDR histograms every second into a
 * BenchSnapshot for the live view, stops, lets deliveries drain, reads the broker's own count, and returns the
 * versioned BenchResult (bench/bench-result.ts) with threshold verdicts.
 */

export interface BenchRequest {
  mode: BenchMode
  /** Broker URL; undefined: the local broker on the default address, or the embedded one. */
  brokerUrl?: string
  defaultBrokerUrl?: string
  username?: string
  password?: string
  tls?: MqttEndpoint['tls']
  protocolVersion: MqttProtocolVersion
  qos: QoS
  retain: boolean
  payloadBytes: number
  /** Publishers in the whole run (all shards); connections in conn mode. */
  publishers: number
  subscribers: number
  /** Publish topic with placeholders: %i (publisher number), %s (shard index). */
  topic: string
  /** Subscription filter; default: the topic with every placeholder level as `+`. */
  subscribeTopic?: string
  profile: LoadProfile
  /** Saturation: run length; conn mode: how long connections are held once all are up. */
  durationMs?: number
  warmupMs: number
  /** Saturation: at most this many messages (the open model carries its limit in the profile). */
  messages?: number
  inflight: number
  batch: number
  maxLagMs: number
  keepaliveSec: number
  connectTimeoutMs: number
  /** Conn mode: attempts in flight at once when no connect rate is given. */
  connectConcurrency: number
  /** Conn mode: subscribe each connection (the SUBACK counts in the connect time). */
  connSubscribe?: string
  workers?: number
  sourceIps?: string
  shard?: {index: number; count: number}
  clientIdPrefix: string
  thresholds: Threshold[]
  commandLine: string[]
  profileFile?: string
  toolVersion: string
  /** How long subscribers may take to receive what was sent, after sending stopped. */
  drainMs: number
  /** Read mosquitto's $SYS count before and after (default true in e2e and pub modes). */
  brokerCount: boolean
  signal?: AbortSignal
  onSnapshot?: (snapshot: BenchSnapshot) => void
  onLog?: (message: string, level: 'info' | 'warn' | 'error') => void
}

export type BenchPhase = 'connecting' | 'warm-up' | 'running' | 'draining' | 'done'

/** What the live view and the plain lines show each second. */
export interface BenchSnapshot {
  mode: BenchMode
  phase: BenchPhase
  elapsedMs: number
  /** Planned length of the load (warm-up included), when known. */
  plannedMs?: number
  broker: string
  load: string
  /** The schedule's rate now (whole shard), null in saturation. */
  targetPerSec: number | null
  sentPerSec: number
  receivedPerSec: number | null
  clients: {connected: number; total: number}
  counts: BenchWorkerCounts
  /** The headline distribution this interval and so far. */
  headline: LatencyDistribution
  interval: LatencySummary
  cumulative: LatencySummary
  /** Uncorrected figures so far (end-to-end and subscribe modes). */
  uncorrected?: LatencySummary
  /** Cumulative percentile curve for the chart: [percentile, ms] points. */
  percentileCurve: Array<[number, number]>
  health: {cpuPercent: number; rssBytes: number; eventLoopLagP99Ms: number; cores: number}
}

export interface BenchOutcome {
  result: BenchResult
  interrupted: boolean
  /** A fatal failure during the run (a worker crashed); the result covers the run until then. */
  error?: string
  warnings: string[]
}

const CLIENTS_PER_WORKER = 50

/** Bench workers: one per core but one (the broker often shares the machine), at least one, no more than needed. */
export function defaultBenchWorkers(clients: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(Math.max(1, cores - 1), Math.ceil(clients / CLIENTS_PER_WORKER)))
}

/** The subscription filter that covers a topic pattern: every level with a placeholder becomes `+`. */
export function filterForTopic(pattern: string): string {
  return pattern
    .split('/')
    .map((level) => (/%[a-z]/.test(level) ? '+' : level))
    .join('/')
}

export function expandTopic(pattern: string, values: {i: number; s: number; c: string}): string {
  return pattern.replace(/%([isc])/g, (_, k: 'i' | 's' | 'c') => String(values[k]))
}

/** The global ids of the clients one shard owns, of `total`: every `count`-th, starting at `index`. */
function shardMembers(total: number, shard: {index: number; count: number}): number[] {
  const out: number[] = []
  for (let g = shard.index; g < total; g += shard.count) out.push(g)
  return out
}

export async function runBench(req: BenchRequest): Promise<BenchOutcome> {
  const clockEpoch = benchClockEpoch()
  const warnings: string[] = []
  const log = (message: string, level: 'info' | 'warn' | 'error' = 'info'): void => {
    if (level === 'warn' && !warnings.includes(message)) warnings.push(message)
    req.onLog?.(message, level)
  }
  const shard = req.shard ?? {index: 0, count: 1}
  const mode = req.mode
  const pubIds = mode === 'e2e' || mode === 'pub' ? shardMembers(req.publishers, shard) : []
  const subIds = mode === 'e2e' || mode === 'sub' ? shardMembers(req.subscribers, shard) : []
  const connIds = mode === 'conn' ? shardMembers(req.publishers, shard) : []
  // This shard's part of the whole run's load: each publisher owns an equal share of the schedule.
  const shardFraction = req.publishers > 0 ? (mode === 'conn' ? connIds.length : pubIds.length) / req.publishers : 0
  if (pubIds.length + subIds.length + connIds.length === 0) {
    throw new UsageError(`shard ${shard.index + 1}/${shard.count} has no clients: ${req.publishers} publishers and ${req.subscribers} subscribers do not go round ${shard.count} shards`)
  }
  if (mode === 'e2e' && subIds.length === 0) log(`shard ${shard.index + 1}/${shard.count} has no subscriber: it measures publishing only`, 'warn')
  let sourceAddresses: string[] = []
  if (req.sourceIps) {
    try {
      sourceAddresses = parseSourceAddresses(req.sourceIps)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
  }

  // ---- broker ---------------------------------------------------------------------------------------------------
  const resolved: ResolvedBroker =
    req.brokerUrl === undefined ? await (await import('../net/embedded-broker.js')).resolveBroker({defaultUrl: req.defaultBrokerUrl}) : {url: req.brokerUrl}
  if (resolved.note) log(resolved.note)
  const endpoint = parseEndpointUrl(resolved.url)
  if (endpoint.transport === 'ws' || endpoint.transport === 'wss') {
    await resolved.embedded?.close()
    throw new UsageError('iotd bench speaks MQTT over TCP or TLS (mqtt://, mqtts://); WebSocket brokers are not supported by the bench path', [
      'point --broker at the broker\'s TCP or TLS listener',
    ])
  }
  const mqttEndpoint: MqttEndpoint = {
    url: resolved.url,
    protocol: req.protocolVersion === 5 ? '5' : '3.1.1',
    username: req.username ?? endpoint.username,
    password: req.password ?? endpoint.password,
    tls: endpoint.transport === 'mqtts' ? {...req.tls} : undefined,
  }
  let counter: BrokerCounter | undefined
  const workers: Worker[] = []
  try {
    if (!resolved.embedded) {
      const attempts = 5
      const check = await connectWithRetry(
        {...mqttEndpoint, clientId: `${req.clientIdPrefix}-check`, connectTimeoutMs: req.connectTimeoutMs},
        {
          attempts,
          initialMs: 500,
          maxMs: 5000,
          multiplier: 2,
          jitter: 'full',
          signal: req.signal,
          onRetry: (attempt, delayMs, err) => log(`broker check ${attempt}/${attempts} failed (${err.message}); retrying in ${Math.round(delayMs)}ms`, 'warn'),
        },
      )
      await check.endAsync()
    }
    if (req.brokerCount && (mode === 'e2e' || mode === 'pub')) counter = await openBrokerCounter(mqttEndpoint).catch(() => undefined)
    const countBefore = counter ? await counter.read() : undefined

    // ---- workers --------------------------------------------------------------------------------------------------
    const totalClients = pubIds.length + subIds.length + connIds.length
    const workerCount = Math.min(totalClients, req.workers ?? defaultBenchWorkers(totalClients))
    const filter = req.subscribeTopic ?? (mode === 'sub' ? req.topic : filterForTopic(req.topic))
    const setups: BenchWorkerSetup[] = Array.from({length: workerCount}, (_, w) => ({
      workerId: w,
      clockEpoch,
      broker: {
        host: endpoint.host,
        port: endpoint.port,
        username: mqttEndpoint.username,
        password: mqttEndpoint.password,
        keepaliveSec: req.keepaliveSec,
        connectTimeoutMs: req.connectTimeoutMs,
        tls: mqttEndpoint.tls,
      },
      protocolVersion: req.protocolVersion,
      qos: req.qos,
      retain: req.retain,
      payloadBytes: req.payloadBytes,
      publishers: [],
      subscribers: [],
      inflight: req.inflight,
      batch: req.batch,
      maxLagMs: req.maxLagMs,
      countedPublishers: mode === 'sub' ? 'all' : shard.count > 1 ? {shardIndex: shard.index, shardCount: shard.count} : 'all',
      joinRunningStream: mode === 'sub',
    }))
    let ordinal = 0
    const profile = req.profile
    subIds.forEach((id, k) => {
      const sub: SubscriberSetup = {id, filter, clientId: `${req.clientIdPrefix}-s${id}`, sourceAddress: assignSourceAddress(ordinal++, sourceAddresses)}
      setups[k % workerCount].subscribers.push(sub)
    })
    const saturationLimit = (g: number): number =>
      req.messages === undefined ? Number.POSITIVE_INFINITY : Math.floor((req.messages * (g + 1)) / req.publishers) - Math.floor((req.messages * g) / req.publishers)
    pubIds.forEach((id, k) => {
      const pub: PublisherSetup = {
        id,
        topic: expandTopic(req.topic, {i: id, s: shard.index, c: `${req.clientIdPrefix}-p${id}`}),
        clientId: `${req.clientIdPrefix}-p${id}`,
        profile: profile.kind === 'rate' ? splitProfile(profile, equalShare(id, req.publishers)) : undefined,
        messageLimit: profile.kind === 'rate' ? Number.POSITIVE_INFINITY : saturationLimit(id),
        sourceAddress: assignSourceAddress(ordinal++, sourceAddresses),
      }
      setups[(k + subIds.length) % workerCount].publishers.push(pub)
    })
    if (mode === 'conn') {
      for (let w = 0; w < workerCount; w++) {
        const mine = connIds.filter((_, k) => k % workerCount === w)
        // The connect rate's schedule ends with the last connection: each worker owns every workerCount-th one.
        const connectProfile: RateProfile | undefined =
          profile.kind === 'rate' ? splitProfile({...profile, limit: connIds.length}, equalShare(w, workerCount)) : undefined
        setups[w].connector = {
          clients: mine.map((id) => ({clientId: `${req.clientIdPrefix}-c${id}`, sourceAddress: assignSourceAddress(id, sourceAddresses)})),
          profile: connectProfile,
          subscribe: req.connSubscribe,
          concurrency: req.connectConcurrency,
        }
      }
    }

    // ---- merging what workers report -----------------------------------------------------------------------------
    const latest = new Map<number, BenchWorkerStats>()
    const runHist = {latency: createHistogram(), uncorrected: createHistogram(), ack: createHistogram(), connect: createHistogram()}
    let intervalHist = {latency: createHistogram(), uncorrected: createHistogram(), ack: createHistogram(), connect: createHistogram()}
    let workerLoopLag = 0
    let worstScheduleLagMs = 0
    let lastArrivalUs = 0
    const absorb = (stats: BenchWorkerStats): void => {
      latest.set(stats.workerId, stats)
      for (const d of ['latency', 'uncorrected', 'ack', 'connect'] as const) mergeEncoded(stats[d], runHist[d], intervalHist[d])
      workerLoopLag = Math.max(workerLoopLag, stats.eventLoopLagP99Ms)
      worstScheduleLagMs = Math.max(worstScheduleLagMs, stats.worstScheduleLagMs)
      lastArrivalUs = Math.max(lastArrivalUs, stats.lastArrivalUs)
    }
    const totals = (): BenchWorkerCounts => {
      const t: BenchWorkerCounts = {planned: 0, sent: 0, sentTotal: 0, acked: 0, dropped: 0, late: 0, errors: 0, received: 0, distinct: 0, duplicates: 0, reordered: 0, foreign: 0, holes: 0, connected: 0, attempts: 0}
      for (const s of latest.values()) for (const k of Object.keys(t) as Array<keyof BenchWorkerCounts>) t[k] += s.counts[k]
      return t
    }

    let fatal: string | undefined
    let wakeMain: () => void = () => {}
    const waitUntil = (ok: () => boolean, timeoutMs: number): Promise<boolean> =>
      new Promise((resolve) => {
        const started = performance.now()
        const poll = (): void => {
          if (ok() || fatal) return resolve(ok())
          if (performance.now() - started >= timeoutMs) return resolve(false)
          wakeMain = poll
          setTimeout(poll, 50)
        }
        poll()
      })
    const received = {ready: 0, publishersDone: 0, published: 0, done: 0}
    for (const setup of setups) {
      const worker = spawnWorker(new URL('./worker-entry.js', import.meta.url))
      workers.push(worker)
      worker.on('message', (msg: FromBenchWorker) => {
        switch (msg.type) {
          case 'ready':
            received.ready++
            absorb(msg.stats)
            break
          case 'stats':
            absorb(msg.stats)
            break
          case 'publishers-done':
            received.publishersDone++
            break
          case 'published':
            received.published++
            absorb(msg.stats)
            break
          case 'done':
            received.done++
            absorb(msg.stats)
            break
          case 'log':
            log(msg.message, msg.level)
            break
          case 'fatal':
            fatal ??= msg.message
            break
        }
        wakeMain()
      })
      worker.on('error', (err) => {
        fatal ??= err.message
        wakeMain()
      })
      worker.postMessage({type: 'setup', setup} satisfies ToBenchWorker)
    }
    const broadcast = (msg: ToBenchWorker): void => {
      for (const w of workers) w.postMessage(msg)
    }

    // ---- connect, go, run ---------------------------------------------------------------------------------------
    let phase: BenchPhase = 'connecting'
    const cpuStart = process.cpuUsage()
    const connectStartedAtMs = Date.now()
    const mainLoop = monitorEventLoopDelay({resolution: 10})
    mainLoop.enable()
    await waitUntil(() => received.ready === workerCount || req.signal?.aborted === true, 120_000)
    if (fatal) throw new IotdError(`the bench could not start: ${fatal}`)
    const connectSummary = summarize(runHist.connect)
    if (mode !== 'conn' && !req.signal?.aborted) {
      log(`${totalClients} clients connected (connect p50 ${connectSummary.p50.toFixed(1)} ms, max ${connectSummary.max.toFixed(1)} ms); ${describeLoadProfile(profile)}`)
    }
    // The connect phase is not part of the measured window (conn mode measures it with its own schedule).
    if (mode !== 'conn') runHist.connect.reset()

    const startAtUs = Math.round(benchNowMicros() + 50_000)
    const startedAtMs = startAtUs / 1000
    broadcast({type: 'go', startAtUs, warmupMs: req.warmupMs})
    phase = req.warmupMs > 0 ? 'warm-up' : 'running'
    const plannedMs = plannedLoadMs(req)
    const cores = availableParallelism()
    let peakRss = process.memoryUsage.rss()
    let cpuMark = process.cpuUsage()
    let cpuMarkAt = performance.now()
    let measuredCpuStart = req.warmupMs > 0 ? undefined : cpuStart
    const timeline: TimelinePoint[] = []
    let lastCounts = totals()
    let lastTickAt = performance.now()
    let health = {cpuPercent: 0, rssBytes: peakRss, eventLoopLagP99Ms: 0, cores}
    const headline = headlineOf(mode)
    const tick = (): void => {
      const now = performance.now()
      const elapsed = now - lastTickAt
      lastTickAt = now
      const cpu = process.cpuUsage(cpuMark)
      health = {
        cpuPercent: ((cpu.user + cpu.system) / 1000 / Math.max(1, now - cpuMarkAt)) * 100,
        rssBytes: process.memoryUsage.rss(),
        eventLoopLagP99Ms: Math.max(workerLoopLag, mainLoop.count > 0 ? mainLoop.percentile(99) / 1e6 : 0),
        cores,
      }
      peakRss = Math.max(peakRss, health.rssBytes)
      cpuMark = process.cpuUsage()
      cpuMarkAt = now
      mainLoop.reset()
      workerLoopLag = 0
      const c = totals()
      // What is leaving now, warm-up included (the measured counts start after it).
      const sentPerSec = ((mode === 'conn' ? c.connected - lastCounts.connected : c.sentTotal - lastCounts.sentTotal) * 1000) / Math.max(1, elapsed)
      const receivedPerSec = subIds.length > 0 ? ((c.received - lastCounts.received) * 1000) / Math.max(1, elapsed) : null
      lastCounts = c
      const loadElapsed = Date.now() - startedAtMs
      if (phase === 'warm-up' && loadElapsed >= req.warmupMs) {
        phase = 'running'
        measuredCpuStart = process.cpuUsage()
      }
      const intervalSummary = summarize(intervalHist[headline])
      timeline.push({
        t: Math.round(Date.now() - elapsed),
        sentPerSec,
        receivedPerSec,
        p50: intervalSummary.count > 0 ? intervalSummary.p50 : null,
        p99: intervalSummary.count > 0 ? intervalSummary.p99 : null,
        histogram: encodeHistogram(intervalHist[headline]),
      })
      req.onSnapshot?.({
        mode,
        phase,
        elapsedMs: Math.max(0, loadElapsed),
        plannedMs,
        broker: redactUrl(resolved.url),
        load: describeLoadProfile(profile),
        targetPerSec: profile.kind === 'rate' ? ratePlan(profile).rateAt(Math.max(0, loadElapsed)) * shardFraction : null,
        sentPerSec,
        receivedPerSec,
        clients: {connected: c.connected, total: totalClients},
        counts: c,
        headline,
        interval: intervalSummary,
        cumulative: summarize(runHist[headline]),
        uncorrected: mode === 'e2e' || mode === 'sub' ? summarize(runHist.uncorrected) : undefined,
        percentileCurve: percentileCurve(runHist[headline]),
        health,
      })
      for (const h of Object.values(intervalHist)) h.destroy()
      intervalHist = {latency: createHistogram(), uncorrected: createHistogram(), ack: createHistogram(), connect: createHistogram()}
    }
    const snapshotTimer = setInterval(tick, 1000)

    // A finite schedule ends when every publisher has taken or dropped its last message (they say so); the timer is
    // only a backstop. Saturation and open-ended schedules end on --duration (or Ctrl-C).
    const finiteSchedule = profile.kind === 'rate' && Number.isFinite(ratePlan(profile).total)
    const runFor = mode === 'conn' ? undefined : finiteSchedule && plannedMs !== undefined ? plannedMs + req.maxLagMs + 2000 : plannedMs
    const endOfLoad = (): boolean =>
      req.signal?.aborted === true ||
      fatal !== undefined ||
      received.publishersDone === workersWithLoad(setups) ||
      (runFor !== undefined && Date.now() - startedAtMs >= runFor)
    await waitUntil(endOfLoad, Number.POSITIVE_INFINITY)
    // Conn mode's rate is over the connecting, not the holding that follows.
    const connectPhaseMs = Math.max(1, Date.now() - startedAtMs)
    // Conn mode: hold the connections for --duration once they are all up.
    if (mode === 'conn' && req.durationMs && !req.signal?.aborted && !fatal) {
      phase = 'running'
      await waitUntil(() => req.signal?.aborted === true || fatal !== undefined, req.durationMs)
    }
    // A schedule that ran to its end ended at its planned length, not when the last worker's message arrived.
    const ranToEnd = finiteSchedule && received.publishersDone === workersWithLoad(setups) && plannedMs !== undefined
    const stoppedAtMs = ranToEnd ? Math.min(Date.now(), startedAtMs + (plannedMs as number)) : Date.now()
    // CPU over the measured window; a run stopped before it had one is judged over everything it did.
    const measuredWallMs = stoppedAtMs - startedAtMs - (measuredCpuStart ? req.warmupMs : 0)
    const cpuMeasured = process.cpuUsage(measuredWallMs >= 250 ? (measuredCpuStart ?? cpuStart) : cpuStart)
    const cpuWallMs = measuredWallMs >= 250 ? measuredWallMs : Math.max(1, stoppedAtMs - connectStartedAtMs)

    // ---- stop, drain, count ---------------------------------------------------------------------------------------
    phase = 'draining'
    broadcast({type: 'stop-publishing'})
    await waitUntil(() => received.published === workerCount, 15_000)
    const afterPublish = totals()
    const expected = subIds.length > 0 && mode === 'e2e' ? afterPublish.sent * subIds.length : undefined
    if (expected !== undefined && !req.signal?.aborted) {
      // Deliveries still on their way: wait until everything arrived or nothing more comes.
      let lastDistinct = -1
      let quietSince = performance.now()
      await waitUntil(() => {
        const c = totals()
        if (c.distinct !== lastDistinct) {
          lastDistinct = c.distinct
          quietSince = performance.now()
        }
        return c.distinct >= expected || performance.now() - quietSince > Math.min(req.drainMs, 1500)
      }, req.drainMs)
    }
    clearInterval(snapshotTimer)
    broadcast({type: 'stop'})
    await waitUntil(() => received.done === workerCount, 10_000)
    mainLoop.disable()
    if (received.done < workerCount && !fatal) log(`${workerCount - received.done} of ${workerCount} bench workers did not stop in time; their last counts are missing`, 'warn')

    let brokerCount: BenchResult['brokerCount'] = null
    const final = totals()
    if (counter && countBefore !== undefined) {
      log(`reading the broker's count (${BROKER_RECEIVED_TOPIC})`)
      const after = await counter.read({fresherThan: countBefore + final.sentTotal, timeoutMs: 11_000})
      if (after !== undefined) {
        const brokerReceived = Math.max(0, after - countBefore)
        brokerCount = {
          source: BROKER_RECEIVED_TOPIC,
          received: brokerReceived,
          client: final.sentTotal,
          disagreementPct: final.sentTotal > 0 ? ((brokerReceived - final.sentTotal) / final.sentTotal) * 100 : null,
        }
      }
    }

    // ---- the result -----------------------------------------------------------------------------------------------
    const counts = resultCounts(mode, final, expected, req)
    const measuredMs = Math.max(1, stoppedAtMs - startedAtMs - req.warmupMs)
    const achieved = mode === 'conn' ? (final.connected * 1000) / connectPhaseMs : (final.sent * 1000) / measuredMs
    const rcv = counts.received
    // A broker that falls behind keeps delivering after the last send: the received rate is over the time the
    // deliveries took (window start to the last arrival), not over the sending window, or a backlog drained
    // after the run would count as throughput. startedAtMs and the arrivals (µs) are on the same bench clock.
    const receivingMs = rcv === null ? null : Math.max(measuredMs, lastArrivalUs / 1000 - startedAtMs - req.warmupMs)
    const result: BenchResult = {
      schemaVersion: BENCH_RESULT_SCHEMA_VERSION,
      meta: {
        tool: {name: 'iotd', version: req.toolVersion},
        commandLine: req.commandLine,
        brokers: [redactUrl(resolved.url)],
        mode,
        mqttVersion: req.protocolVersion === 5 ? '5' : '3.1.1',
        qos: req.qos,
        payloadBytes: req.payloadBytes,
        clients: {
          publishers: pubIds.length,
          subscribers: subIds.length,
          total: totalClients,
        },
        target:
          profile.kind === 'rate'
            ? {
                model: 'open',
                ratePerSec: Math.max(...profile.stages.map((s) => Math.max(s.startRate, s.endRate))) * shardFraction,
                stages: profile.stages.length > 1 ? profile.stages.map((s) => ({durationMs: s.durationMs, ratePerSec: s.endRate * shardFraction})) : undefined,
                text: describeLoadProfile(profile),
              }
            : {model: 'saturation', inflight: profile.inflightPerClient, text: 'max'},
        profile: req.profileFile,
        shard: req.shard ? {index: req.shard.index, count: req.shard.count} : undefined,
        startedAt: new Date(startedAtMs).toISOString(),
        endedAt: new Date(stoppedAtMs).toISOString(),
        warmupMs: req.warmupMs,
      },
      counts,
      rate: {
        // What the schedule called for over the measured window.
        targetPerSec: profile.kind !== 'rate' ? null : mode === 'conn' ? ratePlan(profile).rateAt(0) * shardFraction : (counts.planned * 1000) / measuredMs,
        achievedPerSec: achieved,
        receivedPerSec: rcv === null || receivingMs === null ? null : (rcv * 1000) / receivingMs,
        receivingMs: receivingMs ?? undefined,
      },
      brokerCount,
      health: {
        cpuPercent: ((cpuMeasured.user + cpuMeasured.system) / 1000 / cpuWallMs) * 100,
        rssBytes: peakRss,
        eventLoopLagP99Ms: health.eventLoopLagP99Ms,
        cores,
      },
      thresholds: [],
      timeline,
      histograms: {
        latency: mode === 'e2e' || mode === 'sub' ? encodedHistogram(runHist.latency) : undefined,
        uncorrected: mode === 'e2e' || mode === 'sub' ? encodedHistogram(runHist.uncorrected) : undefined,
        ack: req.qos > 0 && (mode === 'e2e' || mode === 'pub') ? encodedHistogram(runHist.ack) : undefined,
        connect: encodedHistogram(runHist.connect),
      },
    }
    result.thresholds = evaluateThresholds(req.thresholds, observationOf(result, runHist)).map(verdictRecord)
    if (worstScheduleLagMs > 0 && counts.dropped > 0 && !req.signal?.aborted) {
      log(`${counts.dropped.toLocaleString('en-US')} sends were dropped: the client fell up to ${Math.round(worstScheduleLagMs)} ms behind its schedule`, 'warn')
    }
    if (req.signal?.aborted) log(`interrupted after ${formatDuration(Math.max(0, stoppedAtMs - startedAtMs))}: the summary covers the run until then`, 'warn')
    for (const h of [...Object.values(runHist), ...Object.values(intervalHist)]) h.destroy()
    return {result, interrupted: req.signal?.aborted === true, error: fatal, warnings}
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
    await counter?.close()
    await resolved.embedded?.close()
  }
}

function headlineOf(mode: BenchMode): LatencyDistribution {
  return mode === 'pub' ? 'ack' : mode === 'conn' ? 'connect' : 'latency'
}

/** Workers that report publishers-done: those with publishers or connections to open. */
function workersWithLoad(setups: BenchWorkerSetup[]): number {
  const n = setups.filter((s) => s.publishers.length > 0 || (s.connector?.clients.length ?? 0) > 0).length
  // Subscribe-only runs end by duration or Ctrl-C only.
  return n === 0 ? Number.POSITIVE_INFINITY : n
}

/** Length of the load when it is known in advance: the stages, or --duration; undefined runs until stopped. */
function plannedLoadMs(req: BenchRequest): number | undefined {
  if (req.profile.kind === 'rate') {
    const total = req.profile.stages.reduce((sum, s) => sum + s.durationMs, 0)
    return Number.isFinite(total) ? total : req.durationMs
  }
  return req.durationMs
}


function resultCounts(mode: BenchMode, c: BenchWorkerCounts, expected: number | undefined, req: BenchRequest): BenchCounts {
  if (mode === 'conn') {
    return {planned: req.publishers, sent: c.attempts, acked: c.connected, expected: null, received: null, lost: null, duplicated: null, reordered: null, dropped: 0, late: 0, errors: c.errors}
  }
  if (mode === 'sub') {
    return {
      planned: 0,
      sent: 0,
      acked: null,
      expected: c.distinct + c.holes,
      received: c.received,
      lost: c.holes,
      duplicated: c.duplicates,
      reordered: c.reordered,
      dropped: 0,
      late: 0,
      errors: c.errors,
    }
  }
  const hasReceiver = mode === 'e2e' && expected !== undefined
  return {
    planned: c.planned,
    sent: c.sent,
    acked: req.qos > 0 ? c.acked : null,
    expected: hasReceiver ? expected : null,
    received: hasReceiver ? c.received : null,
    lost: hasReceiver ? Math.max(0, expected - c.distinct) : null,
    duplicated: hasReceiver ? c.duplicates : null,
    reordered: hasReceiver ? c.reordered : null,
    dropped: c.dropped,
    late: c.late,
    errors: c.errors,
  }
}

/** The figures thresholds are judged by, read from the live histograms. */
function observationOf(result: BenchResult, hist: Record<LatencyDistribution, LatencyHistogram>): BenchObservation {
  const distributions: BenchObservation['distributions'] = {}
  for (const d of ['latency', 'uncorrected', 'ack', 'connect'] as const) {
    if (result.histograms[d]) distributions[d] = statsFromHistogram(hist[d])
  }
  const c = result.counts
  const fraction = (n: number | null): number | undefined => (n === null || !c.expected ? undefined : n / c.expected)
  return {
    distributions,
    rate: result.rate.achievedPerSec,
    loss: fraction(c.lost),
    dup: fraction(c.duplicated),
    reorder: fraction(c.reordered),
    errors: c.errors,
    dropped: c.dropped,
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
