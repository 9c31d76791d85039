/**
 * One sink at run time: a bounded queue, batching (count, interval), retries of transient failures with
 * exponential backoff and full jitter (net/backoff.ts, the same as reconnects), and the dead letter for batches
 * that fail for good (split into single rows first, so one bad row does not take its batch with it).
 * Rows are released (acknowledged upstream) only after the sink accepted them or they were dead-lettered.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {backoffDelay, untilAborted} from '../../net/backoff.js'
import {redactUrlsIn} from '../../net/redact-url.js'
import {arrivalNow, isTransientSinkError, type PipelineRecord, type Sink, type StageContext} from '../types.js'
import {releaseAll} from './ack-tracker.js'
import {LatencySample} from './latency.js'

/**
 * The batching a sink runs with: the pipeline file's `batch:`, else its kind's default, else row by row. One copy,
 * so `pipeline run` and the plan `--dry-run` prints cannot disagree.
 */
export function sinkBatching(entry: {count: number; interval: number} | undefined, kindDefault: {count: number; intervalMs: number} | undefined): {count: number; intervalMs: number} {
  return {count: entry?.count ?? kindDefault?.count ?? 1, intervalMs: entry?.interval ?? kindDefault?.intervalMs ?? 1000}
}

export interface SinkSettings {
  batchCount: number
  batchIntervalMs: number
  retryAttempts: number
  retryInitialMs: number
  retryMaxMs: number
  queue: number
  overflow: 'block' | 'drop'
}

export interface SinkCounters {
  name: string
  type: string
  rule: string
  rows: number
  written: number
  batches: number
  retries: number
  deadLettered: number
  dropped: number
  queued: number
  maxQueued: number
  /** Source arrival -> accepted by this sink, ms. */
  latencyP50Ms: number | null
  latencyP99Ms: number | null
  lastError?: string
  /** Failing transiently right now (retries under way). */
  retrying?: boolean
}

interface Queued {
  record: PipelineRecord
  acks: readonly unknown[]
  arrivedAt: number
}

/**
 * First in, first out, taken from the front in batches without moving the rest: a window that fires for 100,000
 * keys queues 100,000 rows at once, and taking a row-by-row sink's batches with splice(0, 1) moved all the others
 * each time (3.4 s of a 4.8 s run).
 */
class RowQueue {
  private items: Queued[] = []
  private head = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(q: Queued): void {
    this.items.push(q)
  }

  take(n: number): Queued[] {
    const batch = this.items.slice(this.head, this.head + n)
    this.head += batch.length
    if (this.head === this.items.length) {
      // Drained (the usual case): start over, so taken rows are not kept alive into the next GC.
      this.items = []
      this.head = 0
    } else {
      for (let i = this.head - batch.length; i < this.head; i++) this.items[i] = undefined as unknown as Queued
      // Drop the taken front once it is most of the array, so memory follows what is queued.
      if (this.head >= 1024 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head)
        this.head = 0
      }
    }
    return batch
  }

  clear(): void {
    this.items = []
    this.head = 0
  }
}

export class SinkRunner {
  private readonly queue = new RowQueue()
  private writing?: Promise<void>
  private timer?: NodeJS.Timeout | NodeJS.Immediate
  private waiters: (() => void)[] = []
  private oldestAt = 0
  /** The interval of the queued partial batch expired while a write was in flight. */
  private flushDue = false
  private closed = false
  /** Rows of the batch being written (abandon() counts them). */
  private inFlight = 0
  /** Between a transient failure and the next successful write. */
  private retrying = false
  /** Rows offered so far that are done: accepted, dead-lettered or dropped (rows leave the queue in order). */
  private settled = 0
  private settledWaiters: {n: number; ok: () => void}[] = []
  readonly latency = new LatencySample()
  readonly counters: Omit<SinkCounters, 'latencyP50Ms' | 'latencyP99Ms' | 'retrying'>

  constructor(
    readonly sink: Sink,
    readonly type: string,
    readonly rule: string,
    private readonly settings: SinkSettings,
    private readonly ctx: StageContext,
    /** Aborts retry waits when the shutdown timeout expires. */
    private readonly giveUp: AbortSignal,
    private readonly random: () => number = Math.random,
  ) {
    this.counters = {name: sink.name, type, rule, rows: 0, written: 0, batches: 0, retries: 0, deadLettered: 0, dropped: 0, queued: 0, maxQueued: 0}
  }

  async open(): Promise<void> {
    await this.sink.open(this.ctx)
  }

  /**
   * A partial batch is written `batchIntervalMs` after its first row arrived: one timer per partial batch, armed
   * when a row enters an empty queue, so a 1 ms interval costs about 1 ms of latency, not a polling period.
   * An interval of 0 writes it once the current turn is over (setImmediate), that is when the rule has taken the
   * whole source batch: batches as big as the load makes them, and no timer's wake-up delay (a 1 ms timer wakes
   * 1–4 ms late on a busy machine).
   */
  private armTimer(): void {
    if (this.timer || this.settings.batchCount <= 1 || this.closed) return
    const due = () => {
      this.timer = undefined
      if (this.queue.length === 0) return
      if (this.writing) {
        // Written as soon as the write in flight is done (see pump's finally).
        this.flushDue = true
        return
      }
      this.pump(true)
    }
    if (this.settings.batchIntervalMs <= 0) {
      this.timer = setImmediate(due)
      return
    }
    const wait = Math.max(0, this.settings.batchIntervalMs - (performance.now() - this.oldestAt))
    this.timer = setTimeout(due, wait)
    this.timer.unref()
  }

  /** Whether a row may be offered without waiting (block policy). */
  get full(): boolean {
    return this.settings.overflow === 'block' && this.queue.length >= this.settings.queue
  }

  /** Resolves when the queue has room again. */
  space(): Promise<void> {
    if (!this.full) return Promise.resolve()
    return new Promise((ok) => this.waiters.push(ok))
  }

  /** Rows offered so far (the mark a checkpoint waits for). */
  get offered(): number {
    return this.counters.rows
  }

  /**
   * Resolves once the first `n` rows offered are done (accepted, dead-lettered or dropped): a checkpoint taken
   * when `offered` was n may then forget the input they came from. Never resolves for rows abandoned at shutdown.
   */
  settledTo(n: number): Promise<void> {
    if (this.settled >= n) return Promise.resolve()
    return new Promise((ok) => this.settledWaiters.push({n, ok}))
  }

  private settle(n: number): void {
    this.settled += n
    if (this.settledWaiters.length === 0) return
    const still: {n: number; ok: () => void}[] = []
    for (const w of this.settledWaiters) {
      if (this.settled >= w.n) w.ok()
      else still.push(w)
    }
    this.settledWaiters = still
  }

  /** Queues one row; the caller has already added this sink to each ack handle's pending count. */
  offer(record: PipelineRecord, acks: readonly unknown[], arrivedAt: number): void {
    this.counters.rows++
    if (this.settings.overflow === 'drop' && this.queue.length >= this.settings.queue) {
      this.counters.dropped++
      releaseAll(acks)
      this.settle(1)
      return
    }
    if (this.queue.length === 0) this.oldestAt = performance.now()
    this.queue.push({record, acks, arrivedAt})
    if (this.queue.length > this.counters.maxQueued) this.counters.maxQueued = this.queue.length
    if (this.queue.length >= this.settings.batchCount) this.pump(false)
    // A queue bound below the batch size: a full queue is written at once rather than after the batch interval,
    // during which the sources would wait.
    else if (this.full) this.pump(true)
    else this.armTimer()
  }

  /** Writes everything queued (end of run, or before close). */
  async drain(): Promise<void> {
    for (;;) {
      if (this.writing) await this.writing
      else if (this.queue.length > 0) this.pump(true)
      else break
    }
    await this.sink.flush()
  }

  /**
   * Drops whatever is still queued or being written (shutdown timeout): not acknowledged, so an acking source
   * redelivers it and the input log replays it. Returns the rows given up.
   */
  abandon(): number {
    const n = this.queue.length
    this.queue.clear()
    this.wake()
    return n + this.inFlight
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout)
      clearImmediate(this.timer as NodeJS.Immediate)
    }
    await this.sink.close()
  }

  stats(): SinkCounters {
    return {...this.counters, queued: this.queue.length, retrying: this.retrying, latencyP50Ms: this.latency.quantile(0.5), latencyP99Ms: this.latency.quantile(0.99)}
  }

  private pump(partial: boolean): void {
    if (this.writing || this.queue.length === 0) return
    if (!partial && this.queue.length < this.settings.batchCount) return
    const batch = this.queue.take(this.settings.batchCount)
    if (this.queue.length > 0) this.oldestAt = performance.now()
    this.flushDue = false
    this.wake()
    this.inFlight = batch.length
    this.writing = this.writeBatch(batch).finally(() => {
      this.inFlight = 0
      this.writing = undefined
      if (this.queue.length >= this.settings.batchCount || this.full || (this.flushDue && this.queue.length > 0)) this.pump(true)
      else if (this.queue.length > 0) this.armTimer()
    })
  }

  private wake(): void {
    if (this.waiters.length === 0 || this.full) return
    const w = this.waiters
    this.waiters = []
    for (const ok of w) ok()
  }

  private async writeBatch(batch: Queued[]): Promise<void> {
    const records = batch.map((q) => q.record)
    const error = await this.writeWithRetry(records)
    if (error === undefined) {
      this.accepted(batch)
      return
    }
    // Given up at the shutdown timeout: neither written nor refused. Not acknowledged (nor settled for a
    // checkpoint), so the input comes back: an acking source redelivers it, the input log replays it.
    if (error === ABANDONED) return
    // A permanent failure: try rows one at a time so only the bad ones go to the dead letter.
    if (batch.length > 1) {
      for (const q of batch) {
        const e = await this.writeWithRetry([q.record])
        if (e === ABANDONED) return
        if (e === undefined) this.accepted([q])
        else this.reject(q, e)
      }
      return
    }
    for (const q of batch) this.reject(q, error)
  }

  private accepted(batch: Queued[]): void {
    const now = arrivalNow()
    this.counters.batches++
    this.counters.written += batch.length
    for (const q of batch) {
      this.latency.record(now - q.arrivedAt)
      releaseAll(q.acks)
    }
    this.settle(batch.length)
  }

  private reject(q: Queued, error: Error): void {
    this.counters.deadLettered++
    this.ctx.deadLetter({stage: `sink:${this.sink.name}`, reason: error.message, record: q.record, at: Date.now()})
    releaseAll(q.acks)
    this.settle(1)
  }

  /**
   * undefined on success, the last error otherwise, ABANDONED when the shutdown timeout gave up on it (a write
   * that never settles, e.g. to a peer that went silent, is left behind then instead of holding the exit).
   */
  private async writeWithRetry(records: PipelineRecord[]): Promise<Error | undefined> {
    let failingSince = 0
    for (let attempt = 0; ; attempt++) {
      if (this.giveUp.aborted) return ABANDONED
      try {
        await untilAborted(this.sink.write(records), this.giveUp, ABANDONED)
        if (failingSince > 0) {
          this.retrying = false
          this.ctx.warn(`sink ${this.sink.name}: written again after ${attempt} ${attempt === 1 ? 'retry' : 'retries'} (${Math.round((Date.now() - failingSince) / 1000)} s)`)
        }
        return undefined
      } catch (error) {
        if (error === ABANDONED) return ABANDONED
        const e = error instanceof Error ? error : new Error(String(error))
        this.counters.lastError = redactSecrets(e.message)
        if (!isTransientSinkError(e) || attempt >= this.settings.retryAttempts) return new Error(redactSecrets(e.message), {cause: e})
        if (this.giveUp.aborted) return ABANDONED
        this.counters.retries++
        if (attempt === 0) {
          failingSince = Date.now()
          this.retrying = true
          const until = Number.isFinite(this.settings.retryAttempts) ? `up to ${this.settings.retryAttempts} times` : 'until it is back (retry: forever)'
          this.ctx.warn(`sink ${this.sink.name}: ${this.counters.lastError}; retrying with backoff ${until}`)
        }
        const delay = backoffDelay(attempt, {initialMs: this.settings.retryInitialMs, maxMs: this.settings.retryMaxMs, multiplier: 2, jitter: 'full'}, this.random)
        await sleep(delay, undefined, {signal: this.giveUp}).catch(() => undefined)
      }
    }
  }
}

/** The outcome of a write given up at the shutdown timeout. */
const ABANDONED = new Error('abandoned at the shutdown timeout')

/** URL credentials in an error text are masked (net/redact-url): errors are printed. */
export function redactSecrets(text: string): string {
  return redactUrlsIn(text)
}
