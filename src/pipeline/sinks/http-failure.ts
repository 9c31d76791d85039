/**
 * How the sinks that speak HTTP (http, influxdb) judge a failed request, in one place: which statuses a retry may
 * cure, and how a fetch that got no answer is worded (without the URL's credentials or query).
 */

import {TLS_CODE} from '../../net/connect-errors.js'

/** Timeouts, too early, too many requests, and the server-side 5xx that mean "later": retried with backoff. */
const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])

export function isTransientHttpStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status)
}

export interface FetchFailure {
  /** Why, in words: "connection refused (ECONNREFUSED)", "no answer within 5000 ms", ... */
  text: string
  /** Waiting may cure it (the server is down, restarting, or the network is): worth a retry with backoff. */
  transient: boolean
  /** fetch would not even try: the port is one the Fetch standard blocks (1, 7, 25, 6000, ...); no server can help. */
  blockedPort: boolean
}

/** What the socket error codes under undici's "fetch failed" mean to a user. */
const SOCKET_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused (ECONNREFUSED: nothing is listening there)',
  ENOTFOUND: 'the host name does not resolve (ENOTFOUND)',
  EAI_AGAIN: 'the host name does not resolve (EAI_AGAIN)',
  ECONNRESET: 'the connection was reset (ECONNRESET)',
  EPIPE: 'the connection was closed (EPIPE)',
  UND_ERR_SOCKET: 'the connection was closed (UND_ERR_SOCKET)',
  EHOSTUNREACH: 'the host is unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'the network is unreachable (ENETUNREACH)',
  ETIMEDOUT: 'the connection timed out (ETIMEDOUT)',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out (UND_ERR_CONNECT_TIMEOUT)',
}

/**
 * Why a fetch got no answer. undici rejects with a bare "fetch failed"; the cause under it (a socket error with a
 * code, an AggregateError of one per address tried, or "bad port") says what happened.
 */
export function describeFetchFailure(error: unknown, timeoutMs: number): FetchFailure {
  const e = error as Error & {cause?: Error & {code?: unknown; errors?: {code?: unknown}[]}}
  if (e?.name === 'TimeoutError') return {text: `no answer within ${timeoutMs} ms`, transient: true, blockedPort: false}
  const cause = e?.cause
  if (cause?.message === 'bad port') {
    return {text: 'fetch refuses to connect to this port (one of the ports the Fetch standard blocks)', transient: false, blockedPort: true}
  }
  const code = typeof cause?.code === 'string' ? cause.code : cause?.errors?.map((x) => x.code).find((c): c is string => typeof c === 'string')
  if (code && SOCKET_CAUSES[code]) return {text: SOCKET_CAUSES[code], transient: true, blockedPort: false}
  // Certificates and TLS alerts do not mend by waiting.
  if (code && TLS_CODE.test(code)) return {text: `TLS: ${cause?.message ?? code} (${code})`, transient: false, blockedPort: false}
  return {text: code ?? cause?.message ?? e?.message ?? String(error), transient: true, blockedPort: false}
}

/** Why a fetch got no answer, in words (describeFetchFailure's text). */
export function fetchFailureText(error: unknown, timeoutMs: number): string {
  return describeFetchFailure(error, timeoutMs).text
}
