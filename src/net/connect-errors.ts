/**
 * Turning the many ways an MQTT connection attempt fails into one error type with a sentence a user can act on.
 * Messages name the broker (password redacted) and the cause; `reason` lets callers (fleet reconnect logic, retry
 * loops) decide without parsing text.
 */
import {EXIT_CODES, IotdError} from '../errors.js'

export type ConnectFailure =
  /** Nothing accepted the TCP connection, or the host could not be resolved or reached. */
  | 'unreachable'
  /** The configured source address cannot be bound on this host. */
  | 'source-address'
  /** No CONNACK within the connect timeout. */
  | 'timeout'
  /** The broker answered with a CONNACK refusing the connection. */
  | 'rejected'
  /** The TLS handshake failed (certificate verification, protocol mismatch). */
  | 'tls'
  /** The connection closed before a CONNACK, without a socket error. */
  | 'closed'
  | 'other'

export class MqttConnectError extends IotdError {
  readonly reason: ConnectFailure
  /** The broker URL with its password redacted. */
  readonly broker: string
  /** The CONNACK return/reason code when `reason` is `rejected`. */
  readonly returnCode?: number
  /** The socket or TLS error code (ECONNREFUSED, DEPTH_ZERO_SELF_SIGNED_CERT, …) when there was one. */
  readonly code?: string

  constructor(
    message: string,
    init: {reason: ConnectFailure; broker: string; returnCode?: number; code?: string; suggestions?: string[]; cause?: unknown},
  ) {
    super(message, EXIT_CODES.runtime, init.suggestions ?? [])
    this.name = 'MqttConnectError'
    this.reason = init.reason
    this.broker = init.broker
    this.returnCode = init.returnCode
    this.code = init.code
    if (init.cause !== undefined) this.cause = init.cause
  }

  /** Whether trying again later could succeed (a refused password or a bad certificate will not fix itself). */
  get retryable(): boolean {
    if (this.reason === 'tls' || this.reason === 'source-address') return false
    if (this.reason === 'rejected') return this.returnCode !== undefined && TRANSIENT_CONNACK_CODES.has(this.returnCode)
    return true
  }
}

/** CONNACK codes that describe a busy or unavailable broker rather than a client that is not welcome. */
const TRANSIENT_CONNACK_CODES = new Set([3 /* 3.1.1 server unavailable */, 136, 137, 159 /* v5 unavailable, busy, rate exceeded */])

const AUTH_CONNACK_CODES = new Set([4, 5, 134, 135])

/** CONNACK refusal texts: 3.1.1 return codes, then MQTT 5 reason codes (for clients that read CONNACK themselves). */
const CONNACK_REFUSALS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
  128: 'unspecified error',
  129: 'malformed packet',
  130: 'protocol error',
  131: 'implementation specific error',
  132: 'unsupported protocol version',
  133: 'client identifier not valid',
  134: 'bad user name or password',
  135: 'not authorized',
  136: 'server unavailable',
  137: 'server busy',
  138: 'banned',
  140: 'bad authentication method',
  144: 'topic name invalid',
  149: 'packet too large',
  151: 'quota exceeded',
  153: 'payload format invalid',
  154: 'retain not supported',
  155: 'QoS not supported',
  156: 'use another server',
  157: 'server moved',
  159: 'connection rate exceeded',
}

/** The failure for a refusing CONNACK read off the wire, described as for an MQTT.js client. */
export function connackRefused(broker: string, code: number): MqttConnectError {
  return describeConnectError(broker, Object.assign(new Error(CONNACK_REFUSALS[code] ?? 'refused'), {code}))
}

/** Error codes of a failed TLS handshake or certificate check (Node's and OpenSSL's): waiting does not mend them. */
export const TLS_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_SSL|ERR_TLS|EPROTO/
/** Alerts a TLS server sends when it wants a client certificate or refuses the one it got. */
const CLIENT_CERT_CODE = /ALERT_CERTIFICATE_REQUIRED|ALERT_BAD_CERTIFICATE|ALERT_UNKNOWN_CA|ALERT_HANDSHAKE_FAILURE/

/** A plain-text URL: a TLS listener closes on it at once, which looks like a reset or an early close. */
function plainTextHint(broker: string): string[] {
  return /^(mqtt|ws):\/\//i.test(broker) ? ['if that port speaks TLS (8883 usually does), use mqtts:// (or wss://) and --ca'] : []
}

/**
 * Describes a failed connection attempt. `err` is what MQTT.js emitted (undefined when the socket closed without an
 * error); `connectTimeoutMs` is used in the timeout message.
 */
export function describeConnectError(
  broker: string,
  err: unknown,
  context: {connectTimeoutMs?: number; sourceAddress?: string} = {},
): MqttConnectError {
  if (err instanceof MqttConnectError) return err
  if (err === undefined) {
    return new MqttConnectError(`${broker} closed the connection before answering CONNECT`, {
      reason: 'closed',
      broker,
      suggestions: [
        ...plainTextHint(broker),
        'check that this is an MQTT listener, the scheme (mqtt:// vs mqtts:// vs ws://) and, for WebSockets, the path (often /mqtt)',
      ],
    })
  }
  const e = err as Error & {code?: unknown}
  const message = e.message ?? String(err)
  if (typeof e.code === 'number') {
    const rc = e.code
    const auth = AUTH_CONNACK_CODES.has(rc)
    return new MqttConnectError(`${broker} refused the connection: ${message.replace(/^Connection refused: /, '') || 'refused'} (code ${rc})`, {
      reason: 'rejected',
      broker,
      returnCode: rc,
      cause: err,
      suggestions: auth
        ? ['check --username/--password (or IOTD_USERNAME/IOTD_PASSWORD) and the broker ACLs']
        : rc === 1 || rc === 132
          ? ['try the other protocol version: --mqtt-version 3.1.1 or 5, or protocol: in a pipeline file (broker.protocol: in a scenario)']
          : [],
    })
  }
  const code = typeof e.code === 'string' ? e.code : undefined
  switch (code) {
    case 'ECONNREFUSED':
      return new MqttConnectError(`cannot connect to ${broker}: connection refused (nothing is listening there)`, {
        reason: 'unreachable',
        broker,
        code,
        cause: err,
        suggestions: ['start a broker (iotd broker) or pass the right URL with --broker'],
      })
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new MqttConnectError(`cannot connect to ${broker}: the host name does not resolve (${code})`, {
        reason: 'unreachable',
        broker,
        code,
        cause: err,
      })
    case 'ECONNRESET':
    case 'EPIPE':
      return new MqttConnectError(`cannot connect to ${broker}: ${message}`, {reason: 'unreachable', broker, code, cause: err, suggestions: plainTextHint(broker)})
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return new MqttConnectError(`cannot connect to ${broker}: ${message}`, {reason: 'unreachable', broker, code, cause: err})
    case 'EADDRNOTAVAIL':
    case 'EINVAL':
      if (context.sourceAddress) {
        return new MqttConnectError(`cannot connect to ${broker} from source address ${context.sourceAddress}: the address is not available on this host (${code})`, {
          reason: 'source-address',
          broker,
          code,
          cause: err,
          suggestions: ['use addresses assigned to this host (ip addr), or 127.0.0.x for a broker on loopback'],
        })
      }
      break
  }
  if ((code && CLIENT_CERT_CODE.test(code)) || /certificate required/i.test(message)) {
    // The broker's alert, read after the handshake: it wants a client certificate (or did not take the one given).
    const required = (code ?? message).toUpperCase().includes('CERTIFICATE_REQUIRED') || /certificate required/i.test(message)
    return new MqttConnectError(`TLS handshake with ${broker} failed: ${required ? 'the broker asks for a client certificate and none was given' : 'the broker did not accept the client certificate'}${code ? ` (${code})` : ''}`, {
      reason: 'tls',
      broker,
      code,
      cause: err,
      suggestions: [required ? 'pass your client certificate and its key with --cert and --key (a pipeline file: tls: {cert, key})' : 'pass a client certificate (--cert, --key) signed by a CA the broker trusts'],
    })
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // The chain was trusted (a --ca given or not), but the certificate is for other names: another CA will not help.
    return new MqttConnectError(`TLS handshake with ${broker} failed: ${message} (${code})`, {
      reason: 'tls',
      broker,
      code,
      cause: err,
      suggestions: [
        'connect by a host name the certificate names (listed above), or reissue the certificate with this host in its subject alternative names; --insecure skips verification (testing only)',
      ],
    })
  }
  if ((code && TLS_CODE.test(code)) || /TLS|SSL|certificate/i.test(message)) {
    return new MqttConnectError(`TLS handshake with ${broker} failed: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, {
      reason: 'tls',
      broker,
      code,
      cause: err,
      suggestions: ["pass the broker's CA certificate with --ca, or --insecure to skip verification (testing only)"],
    })
  }
  if (/connack timeout/i.test(message)) {
    const secs = context.connectTimeoutMs !== undefined ? ` within ${context.connectTimeoutMs / 1000}s` : ''
    return new MqttConnectError(`no CONNACK from ${broker}${secs}: the broker is slow, overloaded, or not an MQTT listener`, {
      reason: 'timeout',
      broker,
      cause: err,
      suggestions: ['check the port and scheme, or raise the connect timeout'],
    })
  }
  return new MqttConnectError(`cannot connect to ${broker}: ${message}`, {reason: 'other', broker, code, cause: err})
}
