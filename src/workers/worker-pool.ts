import type {Worker} from 'node:worker_threads'
import {spawnWorker} from './worker-threads.js'

/**
 * The main-thread half every worker-based run shares (the fleet engine and the bench): spawn one worker per setup,
 * the messages every protocol has (`log`, `fatal`, stats carried on any message, `done`), a count per message type,
 * waiting for a condition that messages change, the 1 s tick, and stop with a deadline after which a worker is
 * terminated. What a product's own messages mean stays with the product (`onMessage`).
 */

export type LogLevel = 'info' | 'warn' | 'error'

/** The worker -> parent messages the pool itself understands; products add their own types. */
export type PoolMessage<S> =
  | {type: 'log'; level: LogLevel; message: string}
  | {type: 'fatal'; message: string}
  | {type: 'done'; stats: S}
  | {type: string; stats?: S}

export interface WorkerPoolOptions<Setup, ToWorker, FromWorker extends {type: string}, S> {
  entry: URL
  setups: readonly Setup[]
  /** The first message to each worker. */
  start: (setup: Setup) => ToWorker
  /** Stats, from whichever message carries them (`stats`, `done`, and product messages with a `stats` field). */
  onStats: (stats: S) => void
  onLog: (message: string, level: LogLevel) => void
  /** Every other message (after its stats went to onStats). */
  onMessage?: (msg: FromWorker) => void
  /** The first failure of a worker (a `fatal` message or a crash). */
  onFatal?: (message: string) => void
}

export class WorkerPool<Setup, ToWorker, FromWorker extends {type: string}, S> {
  readonly size: number
  /** The first failure of any worker, if one failed. */
  fatal: string | undefined
  private readonly workers: Worker[] = []
  private readonly counts = new Map<string, number>()
  private finished = 0
  private wake: () => void = () => {}
  private ticker: NodeJS.Timeout | undefined

  constructor(private readonly opts: WorkerPoolOptions<Setup, ToWorker, FromWorker, S>) {
    this.size = opts.setups.length
    for (const setup of opts.setups) {
      const worker = spawnWorker(opts.entry)
      this.workers.push(worker)
      // A worker counts as finished once: on `done`, or when it exits or crashes without one.
      let over = false
      const finish = () => {
        if (over) return
        over = true
        this.finished++
      }
      worker.on('message', (msg: FromWorker & {stats?: S; message?: string; level?: LogLevel}) => {
        this.counts.set(msg.type, (this.counts.get(msg.type) ?? 0) + 1)
        if (msg.stats !== undefined) opts.onStats(msg.stats)
        if (msg.type === 'log') opts.onLog(msg.message!, msg.level ?? 'info')
        else if (msg.type === 'fatal') this.fail(msg.message!)
        else {
          if (msg.type === 'done') finish()
          opts.onMessage?.(msg)
        }
        this.wake()
      })
      worker.on('error', (err) => {
        this.fail(err.message)
        finish()
        this.wake()
      })
      worker.on('exit', () => {
        finish()
        this.wake()
      })
      worker.postMessage(opts.start(setup))
    }
  }

  /** How many messages of this type the workers have sent (`ready` from every worker: received('ready') === size). */
  received(type: string): number {
    return this.counts.get(type) ?? 0
  }

  broadcast(msg: ToWorker): void {
    for (const w of this.workers) w.postMessage(msg)
  }

  /**
   * Resolves true once `ok()` holds, false when a worker failed first or `timeoutMs` passed. Re-checked on every
   * message and every 50 ms (for conditions on the clock).
   */
  waitFor(ok: () => boolean, timeoutMs = Number.POSITIVE_INFINITY): Promise<boolean> {
    return new Promise((resolve) => {
      const started = performance.now()
      let timer: NodeJS.Timeout | undefined
      const poll = (): void => {
        clearTimeout(timer)
        if (ok() || this.fatal !== undefined) return resolve(ok())
        if (performance.now() - started >= timeoutMs) return resolve(false)
        this.wake = poll
        timer = setTimeout(poll, 50)
      }
      poll()
    })
  }

  /**
   * Calls `fn` once a second until stop(); with `msToNext`, each call comes when it says (the bench ticks just after
   * each second of its run ends, whatever the timers drift).
   */
  tick(fn: () => void, msToNext?: () => number): void {
    if (!msToNext) {
      this.ticker = setInterval(fn, 1000)
      return
    }
    const arm = (): void => {
      this.ticker = setTimeout(() => {
        if (this.ticker === undefined) return
        fn()
        if (this.ticker !== undefined) arm()
      }, msToNext())
    }
    arm()
  }

  /**
   * Stops the tick, sends `msg` to every worker and waits up to `deadlineMs` for each to finish; then terminates
   * them all. Returns how many had not finished in time (their last report is missing).
   */
  async stop(msg: ToWorker, deadlineMs: number): Promise<number> {
    clearInterval(this.ticker)
    this.ticker = undefined
    this.broadcast(msg)
    const deadline = performance.now() + deadlineMs
    await this.waitForAll(deadline)
    const late = this.size - this.finished
    await Promise.all(this.workers.map((w) => w.terminate()))
    return late
  }

  /** Ends every worker at once (a run that failed before its clean stop). */
  async terminate(): Promise<void> {
    clearInterval(this.ticker)
    this.ticker = undefined
    await Promise.all(this.workers.map((w) => w.terminate()))
  }

  private waitForAll(deadline: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const poll = (): void => {
        clearTimeout(timer)
        // A failed worker does not hold up the others' clean stop.
        if (this.finished >= this.size || performance.now() >= deadline) return resolve()
        this.wake = poll
        timer = setTimeout(poll, Math.min(50, Math.max(1, deadline - performance.now())))
      }
      poll()
    })
  }

  private fail(message: string): void {
    if (this.fatal !== undefined) return
    this.fatal = message
    this.opts.onFatal?.(message)
  }
}
