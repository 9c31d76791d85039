import {availableParallelism} from 'node:os'
import {formatDuration} from '../config/units.js'
import {IotdError, UsageError} from '../errors.js'
import {HealthSampler} from '../metrics/health-sampler.js'
import {summarize, type LatencyHistogram} from '../metrics/histogram.js'
import {statsFromHistogram, type BenchObservation, type LatencyDistribution} from '../metrics/observation.js'
import {evaluateThresholds} from '../metrics/thresholds.js'
import {connectWithRetry, parseEndpointUrl, redactUrl, type MqttEndpoint, type ResolvedBroker} from '../net/index.js'
import {INSECURE_TLS_WARNING} from '../net/tls-files.js'
import {ratePlan} from '../pacing/load-profile.js'
import {WorkerPool, type LogLevel} from '../workers/worker-pool.js'
import {BenchLive, BenchStats, loadText} from './bench-live.js'
import {BENCH_RESULT_SCHEMA_VERSION, encodedHistogram, measuredWindowMs, verdictRecord, type BenchCounts, type BenchMode, type BenchResult, type TimelinePoint} from './bench-result.js'
import {planShard, subscriptionFilter, workerSetups, workersWithLoad, type ShardPlan} from './bench-shard.js'
import {openBrokerCounter, BROKER_RECEIVED_TOPIC, type BrokerCounter} from './broker-count.js'
import {benchClockEpoch, benchNowMicros} from './latency-header.js'
import type {BenchOutcome, BenchRequest} from './bench-request.js'
import type {BenchWorkerCounts, BenchWorkerSetup, BenchWorkerStats, FromBenchWorker, ToBenchWorker} from './protocol.js'

/**
 * `iotd bench` as a library call (main thread): resolves the broker, spreads the clients over bench workers,
 * starts every worker's load at one instant, merges their counters and encoded HDR histograms every second into a
 * BenchSnapshot for the live view, stops, lets deliveries drain, reads the broker's own count, and returns the
 * versioned BenchResult (bench/bench-result.ts) with threshold verdicts.
 */

export type {BenchOutcome, BenchPhase, BenchRequest, BenchSnapshot} from './bench-request.js'

const CLIENTS_PER_WORKER = 50

/** Bench workers: one per core but one (the broker often shares the machine), at least one, no more than needed. */
export function defaultBenchWorkers(clients: number, cores = availableParallelism()): number {
  return Math.max(1, Math.min(Math.max(1, cores - 1), Math.ceil(clients / CLIENTS_PER_WORKER)))
}

export async function runBench(req: BenchRequest): Promise<BenchOutcome> {
  const clockEpoch = benchClockEpoch()
  const warnings: string[] = []
  const log = (message: string, level: LogLevel = 'info'): void => {
    if (level === 'warn' && !warnings.includes(message)) warnings.push(message)
    req.onLog?.(message, level)
  }
  const mode = req.mode
  const plan = planShard(req, log)
  const broker = await resolveBenchBroker(req, log)
  let counter: BrokerCounter | undefined
  let pool: WorkerPool<BenchWorkerSetup, ToBenchWorker, FromBenchWorker, BenchWorkerStats> | undefined
  try {
    if (!broker.resolved.embedded) await checkBroker(req, broker.endpoint, log)
    if (req.brokerCount && (mode === 'e2e' || mode === 'pub')) {
      // mosquitto's received count leaves QoS 2 PUBLISHes out: a comparison would read as all of them missing.
      if (req.qos === 2) log(`no broker cross-check at QoS 2: mosquitto's ${BROKER_RECEIVED_TOPIC} does not count QoS 2 messages`)
      else counter = await openBrokerCounter(broker.endpoint).catch(() => undefined)
    }

    // ---- workers connect, then every worker's load starts at one instant -------------------------------------
    const workerCount = Math.min(plan.totalClients, req.workers ?? defaultBenchWorkers(plan.totalClients))
    const setups = workerSetups(req, plan, broker, workerCount, clockEpoch)
    const sampler = new HealthSampler()
    const stats = new BenchStats(sampler)
    const cpuStart = process.cpuUsage()
    const connectStartedAtMs = Date.now()
    const workers = (pool = new WorkerPool<BenchWorkerSetup, ToBenchWorker, FromBenchWorker, BenchWorkerStats>({
      entry: new URL('./worker-entry.js', import.meta.url),
      setups,
      start: (setup) => ({type: 'setup', setup}),
      onStats: (s) => stats.absorb(s),
      onLog: log,
    }))
    await workers.waitFor(() => workers.received('ready') === workerCount || req.signal?.aborted === true, 120_000)
    if (workers.fatal) throw new IotdError(`the bench could not start: ${workers.fatal}`)
    const connectSummary = summarize(stats.histograms.run.connect)
    if (mode !== 'conn' && !req.signal?.aborted) {
      log(`${plan.totalClients} client${plan.totalClients === 1 ? '' : 's'} connected (connect p50 ${connectSummary.p50.toFixed(1)} ms, max ${connectSummary.max.toFixed(1)} ms); ${loadText(req)}`)
    }
    // The broker's count before the load, once the clients are connected: a live value if one comes within 1.2 s.
    const countBefore = counter ? await counter.baseline(1200) : undefined
    // The connect times of the setup are the run's `connect` distribution (what a connect.p(99) threshold judges);
    // conn mode measures its own connections on their schedule, after the start.
    const startAtUs = commonStartUs(req, log)
    const startedAtMs = startAtUs / 1000
    workers.broadcast({type: 'go', startAtUs, warmupMs: req.warmupMs})
    const plannedMs = plannedLoadMs(req)
    const live = new BenchLive(req, stats, sampler, {broker: redactUrl(broker.resolved.url), startedAtMs, plannedMs, shardFraction: plan.shardFraction, totalClients: plan.totalClients, subscribers: plan.subIds.length})
    live.phase = req.warmupMs > 0 ? 'warm-up' : 'running'
    if (req.warmupMs === 0) live.measuredCpuStart = cpuStart
    workers.tick(() => live.tick(), () => live.msToNextTick())

    // ---- run -----------------------------------------------------------------------------------------------------
    // A finite schedule ends when every publisher has taken or dropped its last message (they say so); the timer is
    // only a backstop. Saturation and open-ended schedules end on --duration (or Ctrl-C).
    const finiteSchedule = req.profile.kind === 'rate' && Number.isFinite(ratePlan(req.profile).total)
    const runFor = mode === 'conn' ? undefined : finiteSchedule && plannedMs !== undefined ? plannedMs + req.maxLagMs + 2000 : plannedMs
    const loaded = workersWithLoad(setups)
    // A schedule whose last message left early (its last interval has nothing due) still runs its planned length:
    // the window, the rates and the deliveries are over the schedule, not over the span of the sends.
    const loadEnded = (): boolean =>
      workers.received('publishers-done') === loaded && (!finiteSchedule || plannedMs === undefined || Date.now() - startedAtMs >= plannedMs)
    await workers.waitFor(() => req.signal?.aborted === true || loadEnded() || (runFor !== undefined && Date.now() - startedAtMs >= runFor))
    // Conn mode's rate is over the connecting, not the holding that follows.
    const connectPhaseMs = Math.max(1, Date.now() - startedAtMs)
    // Conn mode: hold the connections for --duration once they are all up.
    if (mode === 'conn' && req.durationMs && !req.signal?.aborted && !workers.fatal) {
      live.phase = 'running'
      await workers.waitFor(() => req.signal?.aborted === true, req.durationMs)
    }
    // A schedule that ran to its end ended at its planned length, not when the last worker's message arrived.
    const ranToEnd = finiteSchedule && workers.received('publishers-done') === loaded && plannedMs !== undefined
    const stoppedAtMs = ranToEnd ? startedAtMs + (plannedMs as number) : Date.now()
    // CPU over the measured window; a run stopped before it had one is judged over everything it did.
    const measuredWallMs = stoppedAtMs - startedAtMs - (live.measuredCpuStart ? req.warmupMs : 0)
    const cpuMeasured = process.cpuUsage(measuredWallMs >= 250 ? (live.measuredCpuStart ?? cpuStart) : cpuStart)
    const cpuWallMs = measuredWallMs >= 250 ? measuredWallMs : Math.max(1, stoppedAtMs - connectStartedAtMs)

    // ---- stop, drain, count --------------------------------------------------------------------------------------
    live.phase = 'draining'
    const expected = await drain(req, plan, workers, stats)
    const late = await workers.stop({type: 'stop'}, 10_000)
    sampler.stop()
    if (late > 0 && !workers.fatal) log(`${late} of ${workerCount} bench workers did not stop in time; their last counts are missing`, 'warn')
    const final = stats.totals()
    // Interrupted: the summary comes now, not after waiting up to a $SYS interval for the broker's count.
    const brokerCount = req.signal?.aborted ? null : await readBrokerCount(counter, countBefore, final.sentTotal, plan.shard.count > 1, log)

    // Back-pressure: the share of the publishers' measured time that their in-flight window was full.
    const windowMs = Math.max(1, stoppedAtMs - startedAtMs) * Math.max(1, plan.pubIds.length)
    const inflightFullPct = req.qos > 0 && plan.pubIds.length > 0 ? Math.min(100, (final.windowFullMs / windowMs) * 100) : undefined
    const result = buildResult(req, plan, {
      stats, final, expected, brokerCount, timeline: live.timeline, url: broker.resolved.url, startedAtMs, stoppedAtMs, connectPhaseMs,
      health: {
        cpuPercent: ((cpuMeasured.user + cpuMeasured.system) / 1000 / cpuWallMs) * 100,
        rssBytes: sampler.peakRssBytes,
        eventLoopLagP99Ms: sampler.runHealth().eventLoopLagP99Ms,
        cores: live.cores,
        ...(inflightFullPct === undefined ? {} : {inflightFullPct}),
      },
    })
    // Two reasons a send is dropped: its publisher had no broker connection when it fell due, or it fell behind.
    const droppedDown = result.counts.droppedDown ?? 0
    const droppedBehind = result.counts.dropped - droppedDown
    if (droppedDown > 0) {
      log(`${droppedDown.toLocaleString('en-US')} sends were dropped: the broker connection was down when they fell due (${final.disconnects ?? 0} lost connection${final.disconnects === 1 ? '' : 's'})`, 'warn')
    }
    if (stats.worstScheduleLagMs > 0 && droppedBehind > 0 && !req.signal?.aborted) {
      log(`${droppedBehind.toLocaleString('en-US')} sends were dropped: the client fell up to ${Math.round(stats.worstScheduleLagMs)} ms behind its schedule`, 'warn')
    }
    // Publishers still without a connection at the end did not run what was asked of them: the run failed.
    const down = final.down ?? 0
    const downError =
      down > 0 && !req.signal?.aborted
        ? `${down} of ${plan.pubIds.length} publisher${plan.pubIds.length === 1 ? '' : 's'} could not reconnect to the broker before the run ended; ${droppedDown.toLocaleString('en-US')} sends fell due while the connection was down and were dropped`
        : undefined
    if (req.signal?.aborted) log(`interrupted after ${formatDuration(Math.max(0, stoppedAtMs - startedAtMs))}: the summary covers the run until then`, 'warn')
    stats.histograms.destroy()
    const error = workers.fatal ?? downError
    const didNothing = req.signal?.aborted || error ? undefined : didNothingReason(req, plan, result)
    return {result, interrupted: req.signal?.aborted === true, error, didNothing, warnings}
  } finally {
    await pool?.terminate()
    await counter?.close()
    await broker.resolved.embedded?.close()
  }
}

/**
 * Why a run did nothing it was asked, or undefined when it did something: a publishing run that sent nothing, a
 * subscribe-only run that received nothing, an end-to-end run whose subscribers received none of what was sent
 * (100 % loss: nothing arrived on the subscription's filter), a connect run that opened no connection.
 */
function didNothingReason(req: BenchRequest, plan: ShardPlan, result: BenchResult): string | undefined {
  const k = result.counts
  const over = formatDuration(measuredWindowMs(result.meta))
  const filter = subscriptionFilter(req)
  if (req.mode === 'conn') return k.acked === 0 ? `no connection to the broker was opened in ${over}` : undefined
  if (req.mode === 'sub') {
    if (k.received !== 0) return undefined
    return `nothing received on '${filter}' in ${over}: no iotd bench message was published to it while the run listened`
  }
  if (plan.pubIds.length > 0 && k.sent === 0) return `nothing was sent in ${over}: ${k.dropped > 0 ? `all ${k.dropped.toLocaleString('en-US')} planned sends were dropped` : 'no send fell due'}`
  if (req.mode === 'e2e' && plan.subIds.length > 0 && k.sent > 0 && k.received === 0) {
    return `nothing arrived on the subscription's filter '${filter}': the subscribers received none of the ${k.sent.toLocaleString('en-US')} messages sent to '${req.topic}'`
  }
  return undefined
}

/** The broker of the run (the embedded one when none is named), refusing WebSocket URLs the raw clients cannot use. */
async function resolveBenchBroker(req: BenchRequest, log: (message: string, level?: LogLevel) => void): Promise<{resolved: ResolvedBroker; host: string; port: number; endpoint: MqttEndpoint}> {
  const resolved: ResolvedBroker =
    req.brokerUrl === undefined ? await (await import('../net/embedded-broker.js')).resolveBroker({defaultUrl: req.defaultBrokerUrl}) : {url: req.brokerUrl}
  if (resolved.note) log(resolved.note)
  const parsed = parseEndpointUrl(resolved.url)
  if (parsed.transport === 'ws' || parsed.transport === 'wss') {
    await resolved.embedded?.close()
    throw new UsageError('iotd bench speaks MQTT over TCP or TLS (mqtt://, mqtts://); WebSocket brokers are not supported by the bench path', [
      'point --broker at the broker\'s TCP or TLS listener',
    ])
  }
  const endpoint: MqttEndpoint = {
    url: resolved.url,
    protocol: req.protocolVersion === 5 ? '5' : '3.1.1',
    username: req.username ?? parsed.username,
    password: req.password ?? parsed.password,
    tls: parsed.transport === 'mqtts' ? {...req.tls} : undefined,
  }
  // Said once, in the words every command uses (the command does not repeat it).
  if (endpoint.tls?.insecure) log(INSECURE_TLS_WARNING, 'warn')
  return {resolved, host: parsed.host, port: parsed.port, endpoint}
}

/** One client connects (with retries) before any worker starts, so a wrong address fails fast and clearly. */
async function checkBroker(req: BenchRequest, endpoint: MqttEndpoint, log: (message: string, level: LogLevel) => void): Promise<void> {
  const attempts = 5
  const check = await connectWithRetry(
    {...endpoint, clientId: `${req.clientIdPrefix}-check`, connectTimeoutMs: req.connectTimeoutMs},
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

/**
 * Stops the publishers, then waits for deliveries still on their way: until everything arrived or nothing more
 * comes. Returns how many deliveries the subscribers should have seen (end-to-end with subscribers), else undefined.
 */
async function drain(req: BenchRequest, plan: ShardPlan, workers: WorkerPool<BenchWorkerSetup, ToBenchWorker, FromBenchWorker, BenchWorkerStats>, stats: BenchStats): Promise<number | undefined> {
  workers.broadcast({type: 'stop-publishing'})
  await workers.waitFor(() => workers.received('published') === workers.size, 15_000)
  const receiving = plan.subIds.length > 0 && req.mode === 'e2e'
  // A shard's subscribers receive every shard's messages, so it knows no expected count: it drains until quiet.
  const expected = receiving && plan.shard.count === 1 ? stats.totals().sent * plan.subIds.length : undefined
  if (!receiving || req.signal?.aborted) return expected
  let lastDistinct = -1
  let quietSince = performance.now()
  await workers.waitFor(() => {
    const c = stats.totals()
    if (c.distinct !== lastDistinct) {
      lastDistinct = c.distinct
      quietSince = performance.now()
    }
    return (expected !== undefined && c.distinct >= expected) || performance.now() - quietSince > Math.min(req.drainMs, 1500)
  }, req.drainMs)
  return expected
}

/** The broker's own count of received messages since the run began ($SYS), when it has one. */
async function readBrokerCount(
  counter: BrokerCounter | undefined,
  before: {value: number; live: boolean} | undefined,
  sentTotal: number,
  sharded: boolean,
  log: (message: string) => void,
): Promise<BenchResult['brokerCount']> {
  if (!counter || before === undefined) return null
  log(`reading the broker's count (${BROKER_RECEIVED_TOPIC})`)
  const after = await counter.read({fresherThan: before.value + sentTotal, timeoutMs: 11_000})
  if (after === undefined) return null
  const brokerReceived = Math.max(0, after - before.value)
  // A shard's window of the broker's count holds every shard's messages: only the merge can compare (bench-merge.ts).
  // A retained baseline of unknown age may hold traffic from before the run (a run just before this one).
  const comparable = sentTotal > 0 && !sharded && before.live
  return {
    source: BROKER_RECEIVED_TOPIC,
    received: brokerReceived,
    client: sentTotal,
    disagreementPct: comparable ? ((brokerReceived - sentTotal) / sentTotal) * 100 : null,
    baseline: before.live ? 'live' : 'retained',
  }
}

interface RunFigures {
  stats: BenchStats
  final: BenchWorkerCounts
  expected: number | undefined
  brokerCount: BenchResult['brokerCount']
  timeline: TimelinePoint[]
  url: string
  startedAtMs: number
  stoppedAtMs: number
  connectPhaseMs: number
  health: BenchResult['health']
}

/** The versioned result of one shard, with threshold verdicts judged on the live histograms. */
function buildResult(req: BenchRequest, plan: ShardPlan, run: RunFigures): BenchResult {
  const {mode, profile} = req
  const {shardFraction} = plan
  const runHist = run.stats.histograms.run
  const counts = resultCounts(mode, run.final, run.expected, req, plan)
  const measuredMs = Math.max(1, run.stoppedAtMs - run.startedAtMs - req.warmupMs)
  const achieved = mode === 'conn' ? (run.final.connected * 1000) / run.connectPhaseMs : (run.final.sent * 1000) / measuredMs
  const rcv = counts.received
  // A broker that falls behind keeps delivering after the last send: the received rate is over the time the
  // deliveries took (window start to the last arrival), not over the sending window, or a backlog drained
  // after the run would count as throughput. startedAtMs and the arrivals (µs) are on the same bench clock.
  // Subscribe-only listens to someone else's load, which may start late and end early: its rate is over the time
  // the deliveries came (first to last arrival), not over the whole listen.
  const heardMs = (run.stats.lastArrivalUs - run.stats.firstArrivalUs) / 1000
  const receivingMs =
    rcv === null ? null : mode === 'sub' && rcv > 1 && heardMs > 0 ? heardMs : Math.max(measuredMs, run.stats.lastArrivalUs / 1000 - run.startedAtMs - req.warmupMs)
  const result: BenchResult = {
    schemaVersion: BENCH_RESULT_SCHEMA_VERSION,
    meta: {
      tool: {name: 'iotd', version: req.toolVersion},
      commandLine: req.commandLine,
      brokers: [redactUrl(run.url)],
      mode,
      mqttVersion: req.protocolVersion === 5 ? '5' : '3.1.1',
      qos: req.qos,
      payloadBytes: req.payloadBytes,
      clients: {publishers: plan.pubIds.length, subscribers: plan.subIds.length, total: plan.totalClients},
      target:
        profile.kind === 'rate'
          ? {
              model: 'open',
              ratePerSec: Math.max(...profile.stages.map((s) => Math.max(s.startRate, s.endRate))) * shardFraction,
              stages: profile.stages.length > 1 ? profile.stages.map((s) => ({durationMs: s.durationMs, ratePerSec: s.endRate * shardFraction})) : undefined,
              text: loadText(req),
            }
          : {model: 'saturation', inflight: profile.inflightPerClient, text: 'max'},
      profile: req.profileFile,
      runId: req.runId,
      shard: req.shard ? {index: req.shard.index, count: req.shard.count} : undefined,
      startedAt: new Date(run.startedAtMs).toISOString(),
      endedAt: new Date(run.stoppedAtMs).toISOString(),
      warmupMs: req.warmupMs,
    },
    counts,
    rate: {
      // The configured rate: what the schedule planned over the window it planned (the stages' length, warm-up out),
      // not over the span of the sends, which ends at the last message (991 ms of a 1 s run at 100/s).
      targetPerSec: profile.kind !== 'rate' ? null : mode === 'conn' ? ratePlan(profile).rateAt(0) * shardFraction : (counts.planned * 1000) / measuredMs,
      achievedPerSec: achieved,
      receivedPerSec: rcv === null || receivingMs === null ? null : (rcv * 1000) / receivingMs,
      receivingMs: receivingMs ?? undefined,
    },
    brokerCount: run.brokerCount,
    health: run.health,
    thresholds: [],
    timeline: run.timeline,
    histograms: {
      latency: mode === 'e2e' || mode === 'sub' ? encodedHistogram(runHist.latency) : undefined,
      uncorrected: mode === 'e2e' || mode === 'sub' ? encodedHistogram(runHist.uncorrected) : undefined,
      ack: req.qos > 0 && (mode === 'e2e' || mode === 'pub') ? encodedHistogram(runHist.ack) : undefined,
      connect: encodedHistogram(runHist.connect),
    },
  }
  result.thresholds = evaluateThresholds(req.thresholds, observationOf(result, runHist)).map(verdictRecord)
  return result
}

/**
 * When every worker's load starts (bench µs): 50 ms from now, so the `go` message reaches them all first, or the
 * instant --start-at names, so shards in separate processes start together. An instant already past starts now,
 * loudly: the shards did not run together. A whole millisecond, so the result's startedAt (ISO, in ms) and the
 * timeline rows (whole seconds from it) name the same instants.
 */
function commonStartUs(req: BenchRequest, log: (message: string, level: LogLevel) => void): number {
  const soonUs = Math.ceil((benchNowMicros() + 50_000) / 1000) * 1000
  if (req.startAtMs === undefined) return soonUs
  const lateMs = soonUs / 1000 - req.startAtMs
  if (lateMs > 0) {
    log(`--start-at ${new Date(req.startAtMs).toISOString()} had passed ${formatDuration(lateMs)} before the clients were ready: this run started late, not together with the other shards`, 'warn')
    return soonUs
  }
  if (-lateMs > 1000) log(`waiting ${formatDuration(-lateMs)} for --start-at ${new Date(req.startAtMs).toISOString()}`, 'info')
  return Math.round(req.startAtMs * 1000)
}

/** Length of the load when it is known in advance: the stages, or --duration; undefined runs until stopped. */
function plannedLoadMs(req: BenchRequest): number | undefined {
  if (req.profile.kind === 'rate') {
    const total = req.profile.stages.reduce((sum, s) => sum + s.durationMs, 0)
    return Number.isFinite(total) ? total : req.durationMs
  }
  return req.durationMs
}


function resultCounts(mode: BenchMode, c: BenchWorkerCounts, expected: number | undefined, req: BenchRequest, plan: ShardPlan): BenchCounts {
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
  const hasReceiver = mode === 'e2e' && plan.subIds.length > 0
  // A shard's subscribers count every shard's messages: what was expected (and so lost) is known after the merge.
  const knowsExpected = hasReceiver && expected !== undefined
  return {
    planned: c.planned,
    sent: c.sent,
    acked: req.qos > 0 ? c.acked : null,
    expected: knowsExpected ? (expected as number) : null,
    received: hasReceiver ? c.received : null,
    lost: knowsExpected ? Math.max(0, (expected as number) - c.distinct) : null,
    duplicated: hasReceiver ? c.duplicates : null,
    reordered: hasReceiver ? c.reordered : null,
    dropped: c.dropped,
    droppedDown: c.droppedDown ?? 0,
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
