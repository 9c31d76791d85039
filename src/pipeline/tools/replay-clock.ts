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
 * Waits until `now() >= due`: a timer for all but the last ~2 ms (timers fire late by up to a millisecond or
 * more), then turns of the event loop (setImmediate) for the rest, so messages leave within a few hundred µs of
 * their due time without spinning through long gaps.
 */
export async function waitUntil(due: number, now: () => number, signal?: AbortSignal): Promise<void> {
  const coarse = due - now() - SPIN_MS
  if (coarse > 0) {
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
  while (now() < due && !signal?.aborted) await new Promise<void>((resolve) => setImmediate(resolve))
}

export const SPIN_MS = 2
