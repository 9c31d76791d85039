/**
 * Reconnect delays: capped exponential backoff with jitter.
 *
 * Jitter is what keeps a fleet of thousands of devices that lost the broker at the same instant from coming back in
 * one synchronized storm. `full` spreads each retry uniformly over [0, cap); `equal` keeps half of the delay fixed
 * (a guaranteed pause) and randomises the other half; `none` is for tests and single connections.
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
