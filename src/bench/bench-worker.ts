import type {Socket} from 'node:net'
import {LoopDelay} from '../metrics/loop-delay.js'
import {createHistogram, encodeHistogram, recordMicros, type LatencyHistogram} from '../metrics/histogram.js'
import {adoptBenchClock, benchNowMicros, performanceMsAt} from './latency-header.js'
import {OpenLoopScheduler} from '../pacing/open-loop.js'
import type {BenchWorkerCounts, BenchWorkerSetup, BenchWorkerStats, FromBenchWorker} from './protocol.js'
import {BenchPublisher} from './publisher.js'
import {openRawConnection, subscribeRaw} from '../net/raw-mqtt-connection.js'
import {retryWithBackoff, type BackoffOptions} from '../net/backoff.js'
import {PublishReader} from '../net/publish-reader.js'
import {BenchSubscriber} from './subscriber.js'
import {runSecondOf, SecondCounts} from './second-counts.js'

/**
 * The worker half of `iotd bench`: connects this worker's clients, then runs one send loop for all its publishers
 * (open model: each publisher's OpenLoopScheduler says what is due; saturation: whatever the in-flight window
 * allows), reads its subscribers, and reports counters and encoded histograms to the main thread every second.
 *
 * The loop wakes on a timer at the earliest due time, or at once (setImmediate) when something is already due or
 * a publisher was unblocked (socket drained, buffer returned, acknowledgement freed the window).
 */

/** Connections opened at once while setting up, so a large fleet does not flood the broker's accept queue. */
const SETUP_CONCURRENCY = 64
/** Reports go out at every second boundary of the run, so each report's histograms are of one run second. */
const STATS_INTERVAL_MS = 1000
/** A send counts as late past one planned interval and this much: twice the timer granularity the loop wakes on. */
const LATE_AFTER_MS = 2
/** How long stop-publishing waits for the last writes to leave and QoS 1/2 acknowledgements to come back. */
const SETTLE_TIMEOUT_MS = 5000
/**
 * A publisher that lost the broker reconnects with these delays (full jitter, so a fleet does not come back in one
 * storm) until it is back or the run stops sending: short, because every second away is a second of dropped sends.
 */
const RECONNECT_BACKOFF: BackoffOptions = {initialMs: 250, maxMs: 2000, multiplier: 2, jitter: 'full'}

type Post = (msg: FromBenchWorker) => void

export class BenchWorker {
  private readonly publishers: BenchPublisher[] = []
  private readonly subscribers: BenchSubscriber[] = []
  private readonly publisherSockets: Socket[] = []
  private readonly connectorSockets: Socket[] = []
  private hist = {latency: createHistogram(), uncorrected: createHistogram(), ack: createHistogram(), connect: createHistogram()}
  private readonly loopDelay = new LoopDelay()
  private running = false
  private immediate?: NodeJS.Immediate
  private timer?: NodeJS.Timeout
  private timerAt = Number.POSITIVE_INFINITY
  private statsTimer?: NodeJS.Timeout
  private readonly sentBySecond = new SecondCounts()
  private readonly receivedBySecond = new SecondCounts()
  /** Start of the measured window (bench µs); Infinity until `go`. */
  private measureFromUs = Number.POSITIVE_INFINITY
  private lastStatsAt = performance.now()
  private publishersDoneSent = false
  private extraErrors = 0
  private attempts = 0
  private connected = 0
  private warnedDropped = false
  /** Stops the publishers' reconnect loops when sending stops. */
  private readonly reconnects = new AbortController()
  /** Stops the subscribers' reconnect loops at the end (they receive until the drain is over). */
  private readonly subscriberReconnects = new AbortController()
  /** Clients of this worker reconnecting now; the first of them words the attempts (one voice, not one per client). */
  private readonly reconnecting = new Set<string>()
  private reconnectVoice: string | undefined
  private longestDownMs = 0
  private readonly wake = (): void => {
    if (this.running && this.immediate === undefined) this.immediate = setImmediate(this.loop)
  }

  constructor(
    private readonly setup: BenchWorkerSetup,
    private readonly post: Post,
  ) {
    adoptBenchClock(setup.clockEpoch)
    this.loopDelay.start()
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.post({type: 'log', level, message})
  }

  /** Errors are counted by the client that saw them; only the first few are worth a line each. */
  private errorLines = 0
  private readonly onError = (message: string): void => {
    if (++this.errorLines <= 5) this.log('warn', message)
    else if (this.errorLines === 6) this.log('warn', 'more client errors follow; they are counted in the summary')
  }

  // ---- setup --------------------------------------------------------------------------------------------------

  async connect(): Promise<void> {
    const s = this.setup
    const jobs: Array<() => Promise<void>> = []
    for (const sub of s.subscribers) {
      jobs.push(async () => {
        const t0 = benchNowMicros()
        const socket = await this.open(sub.clientId, sub.sourceAddress)
        const subscriber = new BenchSubscriber(socket, {
          id: sub.id,
          filter: sub.filter,
          qos: s.qos,
          protocolVersion: s.protocolVersion,
          measureFromUs: Number.POSITIVE_INFINITY,
          receivedBySecond: this.receivedBySecond,
          joinRunningStream: s.joinRunningStream,
          histograms: () => this.hist,
          onError: this.onError,
          onDisconnect: (subscriber) =>
            void this.reconnect(`subscriber ${subscriber.id}`, this.subscriberReconnects.signal, async () => {
              const fresh = await this.open(sub.clientId, sub.sourceAddress)
              try {
                await subscriber.resubscribe(fresh)
              } catch (err) {
                fresh.destroy()
                throw err
              }
            }),
        })
        await subscriber.start()
        recordMicros(this.hist.connect, benchNowMicros() - t0)
        this.subscribers.push(subscriber)
        this.connected++
      })
    }
    for (const pub of s.publishers) {
      jobs.push(async () => {
        const t0 = benchNowMicros()
        const socket = await this.open(pub.clientId, pub.sourceAddress)
        recordMicros(this.hist.connect, benchNowMicros() - t0)
        this.publisherSockets.push(socket)
        this.connected++
      })
    }
    // Subscribers first (in the job order), so nothing published is missed.
    await runLimited(jobs, SETUP_CONCURRENCY)
    // Publishers are matched to their sockets by order of completion: sort back into setup order.
    this.publisherSockets.sort((a, b) => ((a as SocketWithId).__benchId ?? 0) - ((b as SocketWithId).__benchId ?? 0))
    this.post({type: 'ready', stats: this.stats()})
  }

  private nextSocketId = 0
  private async open(clientId: string, localAddress?: string): Promise<Socket> {
    const b = this.setup.broker
    const id = this.nextSocketId++
    const socket = await openRawConnection({
      host: b.host,
      port: b.port,
      clientId,
      protocolVersion: this.setup.protocolVersion,
      username: b.username,
      password: b.password,
      keepaliveSec: b.keepaliveSec,
      connectTimeoutMs: b.connectTimeoutMs,
      tls: b.tls,
      localAddress,
    })
    ;(socket as SocketWithId).__benchId = id
    return socket
  }

  // ---- the run ------------------------------------------------------------------------------------------------

  go(startAtUs: number, warmupMs: number): void {
    const s = this.setup
    const startMs = performanceMsAt(startAtUs)
    const measureFromUs = startAtUs + warmupMs * 1000
    this.measureFromUs = measureFromUs
    for (const sub of this.subscribers) sub.measureFrom(measureFromUs)
    s.publishers.forEach((pub, i) => {
      const socket = this.publisherSockets[i]
      if (!socket) return
      const scheduler = pub.profile
        ? new OpenLoopScheduler(pub.profile, {now: () => performance.now(), startMs, maxBatch: s.batch, maxLagMs: s.maxLagMs, lateAfterMs: LATE_AFTER_MS})
        : undefined
      this.publishers.push(
        new BenchPublisher(socket, {
          id: pub.id,
          topic: pub.topic,
          qos: s.qos,
          retain: s.retain,
          payloadBytes: s.payloadBytes,
          protocolVersion: s.protocolVersion,
          scheduler,
          messageLimit: pub.messageLimit,
          inflight: s.inflight,
          batch: s.batch,
          startMs,
          measureFromUs,
          sentBySecond: this.sentBySecond,
          ackHistogram: () => this.hist.ack,
          wake: this.wake,
          onError: this.onError,
          onDisconnect: (p) =>
            void this.reconnect(`publisher ${p.id}`, this.reconnects.signal, async () => {
              const fresh = await this.open(pub.clientId, pub.sourceAddress)
              p.reconnected(fresh)
            }),
        }),
      )
    })
    if (warmupMs > 0) setTimeout(() => this.markWarmupEnd(), Math.max(0, performanceMsAt(measureFromUs) - performance.now())).unref()
    this.running = true
    this.lastStatsAt = performance.now()
    this.reportAtNextSecond()
    if (s.connector) void this.runConnector(startMs)
    // Publishers start at the common start time, not when this message arrived.
    const delay = startMs - performance.now()
    if (this.publishers.length > 0) this.arm(delay > 1 ? performance.now() + delay : performance.now())
  }

  /**
   * Posts the stats at the next boundary of a run second (whole seconds from the measured window's start), labelled
   * with the second that just ended, and again at every boundary after: the interval histograms of each report are
   * those of one run second, whatever the thread's timers drift.
   */
  private reportAtNextSecond(): void {
    const measureFromMs = performanceMsAt(this.measureFromUs)
    const now = performance.now()
    const boundary = Math.floor((now - measureFromMs) / STATS_INTERVAL_MS) + 1
    this.statsTimer = setTimeout(() => {
      this.post({type: 'stats', stats: this.stats(boundary - 1)})
      this.reportAtNextSecond()
    }, Math.max(0, measureFromMs + boundary * STATS_INTERVAL_MS - now))
  }

  private markWarmupEnd(): void {
    const now = performance.now()
    for (const p of this.publishers) p.markWarmupEnd(now)
    // Connection figures of the warm-up stay out of the measured window, like everything else.
    this.hist.connect.reset()
  }

  private readonly loop = (): void => {
    this.immediate = undefined
    if (!this.running) return
    const now = performance.now()
    let next = Number.POSITIVE_INFINITY
    let allDone = true
    for (const p of this.publishers) {
      if (p.done) continue
      const at = p.pump(now)
      if (at < next) next = at
      // Asked after the pump: the one that just sent its last message is done now, and nothing else would wake us.
      if (!p.done) allDone = false
    }
    if (allDone && !this.publishersDoneSent && this.publishers.length > 0) {
      this.publishersDoneSent = true
      this.post({type: 'publishers-done'})
      return
    }
    this.arm(next)
  }

  /**
   * Wakes the loop at `at` (performance.now() ms): at once when something is due, else on a timer. Timers have a
   * millisecond's granularity, so a message may leave up to about a millisecond after its intended time (the
   * corrected latency includes it, and `late` counts it past LATE_AFTER_MS); spinning on setImmediate instead would
   * hold a core at any rate and take it from the broker when both share a machine.
   */
  private arm(at: number): void {
    if (at === Number.POSITIVE_INFINITY || !this.running) return
    const wait = at - performance.now()
    if (wait <= 0) {
      this.wake()
      return
    }
    if (this.timer !== undefined && this.timerAt <= at) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.timerAt = Number.POSITIVE_INFINITY
      this.wake()
    }, Math.floor(wait))
  }

  /**
   * A client lost the broker: reconnect it with backoff (net/backoff.ts) until it is back or `signal` stops the
   * run's use for it. `connect` opens the connection and hands it over (a publisher sends again, a subscriber
   * subscribes again).
   */
  private async reconnect(name: string, signal: AbortSignal, connect: () => Promise<void>): Promise<void> {
    const sinceMs = performance.now()
    this.reconnecting.add(name)
    this.reconnectVoice ??= name
    if (this.reconnectVoice === name) this.log('warn', `${name}: reconnecting to the broker (backoff ${RECONNECT_BACKOFF.initialMs} ms to ${RECONNECT_BACKOFF.maxMs / 1000} s)`)
    this.wake()
    const outcome = await retryWithBackoff(
      connect,
      {...RECONNECT_BACKOFF, attempts: Number.MAX_SAFE_INTEGER, signal},
      (err) => (err as Error).message,
      (attempt, delayMs, failure) => {
        if (this.reconnectVoice === name) this.log('warn', `${name}: reconnect attempt ${attempt} failed (${failure}); retrying in ${Math.round(delayMs)} ms`)
      },
    )
    this.reconnecting.delete(name)
    if (this.reconnectVoice === name) this.reconnectVoice = this.reconnecting.values().next().value
    if (!outcome.ok) return
    this.longestDownMs = Math.max(this.longestDownMs, performance.now() - sinceMs)
    if (this.reconnecting.size === 0) this.log('warn', `reconnected to the broker (clients were down up to ${(this.longestDownMs / 1000).toFixed(1)} s; sends that fell due meanwhile are counted as dropped)`)
  }

  /** Connect mode: opens the connections on schedule (or as fast as the concurrency allows), measuring each. */
  private async runConnector(startMs: number): Promise<void> {
    const c = this.setup.connector
    if (!c) return
    const attempt = async (i: number): Promise<void> => {
      const client = c.clients[i]
      this.attempts++
      const t0 = benchNowMicros()
      // Attempts are the sent count of conn mode; one made in a warm-up still counts, in the first second.
      this.sentBySecond.add(Math.max(0, runSecondOf(t0, this.measureFromUs)))
      try {
        const socket = await this.open(client.clientId, client.sourceAddress)
        if (c.subscribe) {
          const reader = new PublishReader(this.setup.protocolVersion)
          await subscribeRaw(socket, reader, [{topic: c.subscribe, qos: this.setup.qos}], this.setup.protocolVersion, () => {})
          socket.on('data', (chunk: Buffer) => reader.push(chunk, () => {}))
          socket.resume()
        } else {
          socket.on('data', () => {})
          socket.resume()
        }
        socket.on('error', () => {})
        recordMicros(this.hist.connect, benchNowMicros() - t0)
        this.connected++
        this.connectorSockets.push(socket)
      } catch (err) {
        this.onError((err as Error).message)
        this.extraErrors++
      }
    }
    if (!c.profile) {
      await runLimited(c.clients.map((_, i) => () => attempt(i)), c.concurrency)
    } else {
      const scheduler = new OpenLoopScheduler(c.profile, {now: () => performance.now(), startMs, maxLagMs: Number.POSITIVE_INFINITY})
      const pending: Array<Promise<void>> = []
      while (this.running && !scheduler.done) {
        const range = scheduler.due()
        for (let k = 0; k < range.count; k++) pending.push(attempt(range.from + k))
        // A schedule with nothing more due until it ends says Infinity, which setTimeout turned into 1 ms with a
        // TimeoutOverflowWarning: look again in 1 ms, without the warning.
        const dueAt = scheduler.nextDueAt()
        const wait = Number.isFinite(dueAt) ? dueAt - performance.now() : 1
        await new Promise((r) => (wait > 1 || !Number.isFinite(dueAt) ? setTimeout(r, wait) : setImmediate(r)))
      }
      await Promise.all(pending)
    }
    if (this.running) this.post({type: 'publishers-done'})
  }

  /** Stops sending: what was due and never sent is dropped; waits for writes and acknowledgements to settle. */
  async stopPublishing(): Promise<void> {
    this.running = false
    this.reconnects.abort()
    if (this.immediate) clearImmediate(this.immediate)
    if (this.timer) clearTimeout(this.timer)
    this.finalSchedule = this.publishers.map((p) => p.scheduleStats(performance.now(), true))
    // Judged when sending stopped: a connection lost during the drain, after the last send, failed nothing.
    this.downAtStop = this.publishers.filter((p) => p.downSinceMs !== undefined).length
    const deadline = performance.now() + SETTLE_TIMEOUT_MS
    while (this.publishers.some((p) => !p.settled) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    const unsettled = this.publishers.reduce((n, p) => n + p.inflight, 0)
    if (unsettled > 0) this.log('warn', `${unsettled} messages were still waiting for their acknowledgement ${SETTLE_TIMEOUT_MS / 1000} s after sending stopped`)
    this.post({type: 'published', stats: this.stats()})
  }

  private finalSchedule?: Array<{planned: number; dropped: number; late: number}>
  /** Publishers without a broker connection when sending stopped (what the run's `down` reports from then on). */
  private downAtStop?: number

  async stop(): Promise<void> {
    this.running = false
    this.subscriberReconnects.abort()
    if (this.statsTimer) clearTimeout(this.statsTimer)
    const final = this.stats()
    for (const p of this.publishers) p.close()
    for (const s of this.subscribers) s.close()
    for (const s of this.connectorSockets) s.destroy()
    for (const s of this.publisherSockets) s.destroy()
    this.post({type: 'done', stats: final})
    this.loopDelay.stop()
  }

  // ---- reporting ----------------------------------------------------------------------------------------------

  /** `second`: the run second this report's histograms belong to (default: the one in progress; null before go). */
  private stats(second?: number): BenchWorkerStats {
    const now = performance.now()
    const counts: Required<BenchWorkerCounts> = {
      planned: 0,
      sent: 0,
      sentTotal: 0,
      acked: 0,
      dropped: 0,
      late: 0,
      errors: this.extraErrors,
      received: 0,
      distinct: 0,
      duplicates: 0,
      reordered: 0,
      foreign: 0,
      holes: 0,
      connected: this.connected,
      attempts: this.attempts,
      windowFullMs: 0,
      droppedDown: 0,
      disconnects: 0,
      down: 0,
    }
    let worstScheduleLagMs = 0
    this.publishers.forEach((p, i) => {
      const sched = this.finalSchedule?.[i] ?? p.scheduleStats(now)
      counts.planned += sched.planned
      counts.dropped += sched.dropped
      counts.late += sched.late
      counts.sent += p.counters.sent
      counts.sentTotal += p.sentTotal
      counts.acked += p.counters.acked
      counts.errors += p.counters.errors
      counts.windowFullMs += p.windowFullMs(now)
      counts.droppedDown += p.counters.droppedDown
      counts.disconnects += p.counters.disconnects
      if (this.downAtStop === undefined && p.downSinceMs !== undefined) counts.down++
      worstScheduleLagMs = Math.max(worstScheduleLagMs, p.worstLagMs)
    })
    if (this.downAtStop !== undefined) counts.down = this.downAtStop
    let lastArrivalUs = 0
    let firstArrivalUs = 0
    for (const s of this.subscribers) {
      lastArrivalUs = Math.max(lastArrivalUs, s.lastArrivalUs)
      if (s.firstArrivalUs > 0 && (firstArrivalUs === 0 || s.firstArrivalUs < firstArrivalUs)) firstArrivalUs = s.firstArrivalUs
      counts.received += s.counters.received
      counts.distinct += s.counters.distinct
      counts.duplicates += s.counters.duplicates
      counts.reordered += s.counters.reordered
      counts.foreign += s.counters.foreign
      counts.errors += s.counters.errors
      if (this.setup.joinRunningStream) counts.holes += s.holes()
    }
    // Sends dropped while the connection was down say nothing about the client's pace (the reconnect lines do).
    if (counts.dropped - counts.droppedDown > 0 && !this.warnedDropped && this.running) {
      this.warnedDropped = true
      this.log('warn', 'messages are being dropped: the client cannot send at the target rate (they are counted, not hidden)')
    }
    const h = this.hist
    const stats: BenchWorkerStats = {
      workerId: this.setup.workerId,
      intervalMs: now - this.lastStatsAt,
      counts,
      latency: encodeAndReset(h.latency),
      uncorrected: encodeAndReset(h.uncorrected),
      ack: encodeAndReset(h.ack),
      connect: encodeAndReset(h.connect),
      eventLoopLagP99Ms: this.loopDelay.takeIntervalP99Ms(),
      eventLoopLagRunP99Ms: this.loopDelay.runP99Ms(),
      worstScheduleLagMs,
      lastArrivalUs,
      firstArrivalUs,
      second: second ?? (Number.isFinite(this.measureFromUs) ? runSecondOf(benchNowMicros(), this.measureFromUs) : null),
      sentBySecond: this.sentBySecond.take(),
      receivedBySecond: this.receivedBySecond.take(),
    }
    this.lastStatsAt = now
    return stats
  }
}

interface SocketWithId extends Socket {
  __benchId?: number
}

function encodeAndReset(h: LatencyHistogram): string {
  const encoded = encodeHistogram(h)
  h.reset()
  return encoded
}

/** Runs async jobs with at most `limit` at once; rejects with the first failure after all have settled. */
async function runLimited(jobs: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0
  let firstError: unknown
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]
      try {
        await job()
      } catch (err) {
        firstError ??= err
      }
    }
  }
  await Promise.all(Array.from({length: Math.min(limit, jobs.length)}, lane))
  if (firstError !== undefined) throw firstError
}
