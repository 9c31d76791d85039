/**
 * When each replayed message is due, on a monotonic clock. Like the simulator's schedule (sim/generators/schedule.ts)
 * every due time is computed from the start, never from the previous message: message k is due at
 * `start + (ts_k − ts_first) / speed`, so rounding and late wake-ups never accumulate into drift over hours.
 *
 * A row whose time is earlier than one already sent (an out-of-order capture) is due at once and counted; the
 * schedule does not go backwards. A loop continues from where the previous pass ended.
 */
export class ReplayClock {
  private firstTs: number | undefined
  private startMs: number
  /** The latest due time handed out (due times never go backwards). */
  private lastDue: number
  outOfOrder = 0

  constructor(
    readonly speed: number,
    startMs: number,
  ) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed must be a positive number, got ${speed}`)
    this.startMs = startMs
    this.lastDue = startMs
  }

  /** Due time (ms, clock of the constructor's startMs) of a message with event time `ts` (epoch ms). */
  dueAt(ts: number): number {
    if (this.firstTs === undefined) this.firstTs = ts
    const due = this.startMs + (ts - this.firstTs) / this.speed
    if (due < this.lastDue) {
      this.outOfOrder++
      return this.lastDue
    }
    this.lastDue = due
    return due
  }

  /** The next pass of a loop starts where this one ended: its first message is due right after the last one. */
  nextLoop(): void {
    this.firstTs = undefined
    this.startMs = this.lastDue
  }
}

/**
 * Waits until `now() >= due`: a timer for all but the last SPIN_MS, one turn of the event loop, then a busy-wait
 * for what is left (the timer counts whole milliseconds, so it may hand over up to a millisecond early).
 *
 * Why so short a spin: spinning longer did not buy precision where iotd runs. On this kind of machine (a VM on two
 * shared cores) a sleeping thread wakes late (a 1 ms sleep: 1.1 ms at the median, 4.1 ms at p99), but a thread
 * that spins takes its core from the broker it is feeding. Measured on a recorded sim capture (593 rows, 1×),
 * alternating runs: spinning out the last 3 ms gave a scheduling p99 of 3.8–6.4 ms (median 5.9), the timer with
 * this 1 ms remainder 2.8–3.9 ms. What is left of the error is mostly the writes themselves: a small write() to a
 * loopback socket takes 0.13 ms at the median and 1–1.5 ms at p99 here, and a message due meanwhile waits for it.
 */
export async function waitUntil(due: number, now: () => number, signal?: AbortSignal): Promise<void> {
  const coarse = due - now() - SPIN_MS
  if (coarse >= 1) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, coarse)
      function done() {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      signal?.addEventListener('abort', done, {once: true})
    })
  }
  // One turn of the event loop, so I/O (acknowledgements, Ctrl-C) is served even when messages come too close
  // together for the timer; then a spin that allocates nothing (spinning on setImmediate would make a promise
  // and a closure per turn for the collector to clear while messages are due).
  if (now() < due && !signal?.aborted) await new Promise<void>((resolve) => setImmediate(resolve))
  while (now() < due && !signal?.aborted) {
    // busy-wait: see above
  }
}

const SPIN_MS = 1
