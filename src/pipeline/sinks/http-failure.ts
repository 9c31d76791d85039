/**
 * How the sinks that speak HTTP (http, influxdb) judge a failed request, in one place: which statuses a retry may
 * cure, and how a fetch that got no answer is worded (without the URL's credentials or query).
 */

/** Timeouts, too early, too many requests, and the server-side 5xx that mean "later": retried with backoff. */
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])

export function isTransientHttpStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status)
}

/** Why a fetch got no answer: "no answer within 10000 ms", "ECONNREFUSED", ... */
export function fetchFailureText(error: unknown, timeoutMs: number): string {
  const e = error as Error & {cause?: {code?: string}}
  return e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e.cause?.code ?? e.message)
}
