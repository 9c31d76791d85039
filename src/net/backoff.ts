/**
 * Reconnect delays: capped exponential backoff with jitter.
 *
 * Jitter is what keeps a fleet of thousands of devices that lost the broker at the same instant from coming back in
 * one synchronized storm. `full` spreads each retry uniformly over [0, cap); `equal` keeps half of the delay fixed
 * (a guaranteed pause) and randomises the other half; `none` is for tests and single connections.
 * retryWithBackoff is the one loop that checks a peer before a run (a broker, InfluxDB) a few times with these delays.
 */

export interface BackoffOptions {
  /** Delay cap of the first retry (attempt 0), in ms. */
  initialMs: number
  /** Upper bound of any delay, in ms. */
  maxMs: number
  /** Growth factor per attempt (2 doubles the cap each time). */
  multiplier: number
  jitter: 'full' | 'equal' | 'none'
}

export const DEFAULT_BACKOFF: Readonly<BackoffOptions> = {initialMs: 500, maxMs: 30_000, multiplier: 2, jitter: 'full'}

/**
 * The delay before retry number `attempt` (0-based), in ms.
 * `random` returns a number in [0, 1) — inject a seeded generator for reproducible fleets and tests.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0
  const initial = Math.max(0, opts.initialMs)
  const max = Math.max(initial, opts.maxMs)
  // multiplier ** n overflows to Infinity for large n; Math.min then settles on the cap.
  const cap = Math.min(max, initial * Math.max(1, opts.multiplier) ** n)
  switch (opts.jitter) {
    case 'none':
      return cap
    case 'equal':
      return cap / 2 + clampUnit(random()) * (cap / 2)
    case 'full':
      return clampUnit(random()) * cap
  }
}

function clampUnit(x: number): number {
  return x < 0 ? 0 : x >= 1 ? 0.999_999_999 : x
}

export interface RetryPlan extends BackoffOptions {
  /** Total attempts, the first one included (>= 1). */
  attempts: number
  /** Jitter source in [0, 1); Math.random unless a seeded one is injected. */
  random?: () => number
  /** Stops waiting and retrying (Ctrl-C). */
  signal?: AbortSignal
}

/**
 * Runs `attempt` up to `plan.attempts` times with a backoff delay between tries. `classify` turns a failure into
 * what the caller reports, and throws instead for one that waiting cannot cure (bad credentials, TLS, a port no
 * server can answer on), which ends the loop at once. Resolves with the value, or with the last failure (undefined
 * when aborted before any attempt) for the caller to word its "gave up" message.
 */
export async function retryWithBackoff<T, F>(
  attempt: () => Promise<T>,
  plan: RetryPlan,
  classify: (error: unknown) => F,
  onRetry?: (attempt: number, delayMs: number, failure: F) => void,
): Promise<{ok: true; value: T} | {ok: false; last: F | undefined}> {
  const attempts = Math.max(1, Math.floor(plan.attempts))
  const random = plan.random ?? Math.random
  let last: F | undefined
  for (let n = 0; n < attempts; n++) {
    if (plan.signal?.aborted) break
    try {
      return {ok: true, value: await attempt()}
    } catch (error) {
      last = classify(error)
      // An attempt cut short by the signal is not a failure to retry or announce.
      if (n === attempts - 1 || plan.signal?.aborted) break
      const delay = backoffDelay(n, plan, random)
      onRetry?.(n + 1, delay, last)
      await sleep(delay, plan.signal)
    }
  }
  return {ok: false, last}
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, {once: true})
  })
}

/**
 * `work`, or a rejection with `aborted` as soon as `signal` aborts. For work that takes no signal (a sink's write or
 * request): the caller stops waiting for it rather than cancelling it, and its outcome is then ignored.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, aborted: Error): Promise<T> {
  if (signal.aborted) {
    work.catch(() => {})
    return Promise.reject(aborted)
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted)
    signal.addEventListener('abort', onAbort, {once: true})
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(error)
      },
    )
  })
}
