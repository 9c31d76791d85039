/**
 * The one way iotd creates MQTT clients (sim, bench, tail, pipeline).
 *
 * Policy baked in here, so every command behaves the same:
 * - MQTT.js never reconnects by itself (`reconnectPeriod: 0`); iotd drives reconnects with backoff and jitter, so a
 *   fleet that loses its broker does not return in one synchronized storm.
 * - QoS 0 messages are not queued while offline (`queueQoSZero: false`): a simulator must not grow memory without
 *   bound during an outage.
 * - TCP and TLS sockets are built here rather than by MQTT.js, because its TCP builder drops `localAddress` and iotd
 *   binds source addresses to go past ~28k connections per (source -> broker) pair.
 * - Nagle is off (`noDelay`): with it on, a small PUBLISH written while the previous one is unacknowledged waits for
 *   the broker's delayed ACK (~40 ms on Linux), which a replay, a simulator's timing and every latency figure would
 *   carry. Batches still leave in one write where iotd corks the stream.
 *
 * 10,000+ clients go through createMqttClient, so it adds nothing per client beyond the options object MQTT.js
 * keeps anyway: stream builders and the error listener are shared functions, TLS files are read once.
 */
import {createConnection, type Socket} from 'node:net'
import {connect as tlsConnect, type ConnectionOptions} from 'node:tls'
import {connect as mqttConnect, MqttClient, type IClientOptions} from 'mqtt'
import {EXIT_CODES, IotdError} from '../errors.js'
import {retryWithBackoff, type RetryPlan} from './backoff.js'
import {describeConnectError, MqttConnectError} from './connect-errors.js'
import {parseEndpointUrl, type ParsedEndpoint} from './mqtt-endpoint.js'
import {readTlsFile} from './tls-files.js'

/** Where a broker is and how to talk to it (shared by all clients of a fleet). */
export interface MqttEndpoint {
  /** mqtt://, mqtts://, ws:// or wss://; userinfo (user:pass@) is used when username/password are not given. */
  url: string
  /** MQTT protocol version; 3.1.1 unless asked. */
  protocol?: '3.1.1' | '5'
  username?: string
  password?: string
  /** Keepalive interval in seconds (default 60; 0 turns keepalive off). */
  keepaliveSec?: number
  /** TLS settings for mqtts:// and wss:// — file paths, read once per process. */
  tls?: {
    ca?: string
    cert?: string
    key?: string
    /** Skip certificate verification (testing only). Certificates are verified unless this is true. */
    insecure?: boolean
    /** SNI and the name the certificate must carry, when it differs from the URL's host. */
    servername?: string
  }
}

/** One client's identity and session on top of the endpoint. */
export interface ClientOptions extends MqttEndpoint {
  clientId: string
  /** Clean session (3.1.1) / clean start (5); default true. */
  clean?: boolean
  /** MQTT 5 session expiry interval in seconds (ignored for 3.1.1, where `clean: false` keeps the session). */
  sessionExpirySec?: number
  /** Last will, published by the broker if this client disappears without DISCONNECT. */
  will?: {topic: string; payload: string | Buffer; qos: 0 | 1 | 2; retain: boolean}
  /** Local address to bind the socket to (see parseSourceAddresses). */
  sourceAddress?: string
  /** How long to wait for the CONNACK, TCP/TLS handshake included (default 10 s). */
  connectTimeoutMs?: number
  /** MQTT 5: give each topic a topic alias the first time it is published and send only the alias after (within the broker's Topic Alias Maximum). */
  topicAliases?: boolean
  /**
   * Called with each TCP/TLS socket (every reconnect too) before MQTT.js reads from it: a `data` listener added
   * here runs before MQTT.js parses the bytes (e.g. to time arrivals). Not called for ws:// and wss://.
   */
  onSocket?: (socket: Socket) => void
  /**
   * Called with each new client before it has read anything from the broker (every connect attempt): handlers
   * installed here see the packets that follow the CONNACK in the same read, e.g. a persistent session's queued
   * messages, which MQTT.js would otherwise acknowledge before a caller of connectOnce could look at them.
   */
  onClient?: (client: MqttClient) => void
}

export interface RetryOptions extends RetryPlan {
  /** Called before waiting for the next attempt; `attempt` is the 1-based number of the attempt that failed. */
  onRetry?: (attempt: number, delayMs: number, err: MqttConnectError) => void
}

/**
 * The onRetry that says each failed attempt before the last on one line (who, the attempt, why, when the next one
 * starts), as the pipeline's mqtt source and sink, record, tail and replay word them.
 */
export function sayRetries(who: string, attempts: number, warn: ((message: string) => void) | undefined): RetryOptions['onRetry'] {
  return (attempt, delayMs, err) => warn?.(`${who}: connection attempt ${attempt}/${attempts} failed (${err.message}); retrying in ${Math.round(delayMs)}ms`)
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000

/** The options MQTT.js keeps per client, plus the source address our stream builders read back. */
type IotdClientOptions = IClientOptions & {localAddress?: string; onSocket?: (socket: Socket) => void}

/**
 * Creates a client that starts connecting immediately and never reconnects by itself: call `client.reconnect()`
 * after a backoff delay (backoffDelay) when it closes. Observe failures with your own 'error' and 'close'
 * listeners; a shared no-op listener keeps an unobserved socket error from crashing the process.
 * Throws a UsageError (exit 2) for a bad URL or an unreadable TLS file.
 */
export function createMqttClient(opts: ClientOptions): MqttClient {
  const endpoint = parseCached(opts.url)
  const options = buildClientOptions(opts, endpoint)
  let client: MqttClient
  switch (endpoint.transport) {
    case 'mqtt':
      client = new MqttClient(tcpStreamBuilder, options)
      break
    case 'mqtts':
      client = new MqttClient(tlsStreamBuilder, options)
      break
    case 'ws':
    case 'wss':
      // WebSocket transports go through MQTT.js's own builder; `ws` passes wsOptions.localAddress to http.request.
      client = mqttConnect({...options, protocol: endpoint.transport, path: endpoint.path, wsOptions: {localAddress: opts.sourceAddress}})
      break
  }
  client.on('error', ignoreError)
  opts.onClient?.(client)
  return client
}

/**
 * Connects one client and resolves on a successful CONNACK. Rejects with an MqttConnectError (exit 1) saying which
 * broker and why: refused, unreachable, timeout, TLS verification, CONNACK refusal. The client is ended on failure.
 */
export function connectOnce(opts: ClientOptions): Promise<MqttClient> {
  const broker = parseCached(opts.url).display
  const client = createMqttClient(opts)
  return new Promise<MqttClient>((resolve, reject) => {
    let firstError: unknown
    const settle = (err: unknown, ok: boolean): void => {
      client.removeListener('connect', onConnect)
      client.removeListener('error', onError)
      client.removeListener('close', onClose)
      if (ok) return resolve(client)
      client.end(true)
      reject(describeConnectError(broker, err, {connectTimeoutMs: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, sourceAddress: opts.sourceAddress}))
    }
    const onConnect = (): void => settle(undefined, true)
    // The socket error comes first and carries the cause; 'close' follows it, or comes alone.
    const onError = (err: Error): void => {
      firstError ??= err
      // A CONNACK refusal or timeout may not be followed by 'close' right away; settle now.
      if (typeof (err as {code?: unknown}).code === 'number' || /connack timeout/i.test(err.message)) settle(err, false)
    }
    const onClose = (): void => settle(firstError, false)
    client.on('connect', onConnect)
    client.on('error', onError)
    client.on('close', onClose)
  })
}

/**
 * For single-connection commands (tail, pipeline sources): tries `retry.attempts` times with backoff between
 * attempts. Failures that cannot heal by waiting (bad credentials, TLS verification, unusable source address) stop
 * at once. Throws an IotdError (exit 1) naming the broker, the number of attempts and the last cause.
 */
export async function connectWithRetry(opts: ClientOptions, retry: RetryOptions): Promise<MqttClient> {
  const broker = parseCached(opts.url).display
  const result = await retryWithBackoff(
    () => connectOnce(opts),
    retry,
    (err) => {
      const failure = err instanceof MqttConnectError ? err : describeConnectError(broker, err)
      if (!failure.retryable) throw failure
      return failure
    },
    retry.onRetry,
  )
  if (result.ok) return result.value
  const {last} = result
  if (!last || retry.signal?.aborted) throw new IotdError(`gave up connecting to ${broker}: interrupted`, EXIT_CODES.interrupted)
  const attempts = Math.max(1, Math.floor(retry.attempts))
  throw new IotdError(`gave up connecting to ${broker} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${last.message}`, EXIT_CODES.runtime, last.suggestions)
}

function buildClientOptions(opts: ClientOptions, endpoint: ParsedEndpoint): IotdClientOptions {
  const v5 = opts.protocol === '5'
  const options: IotdClientOptions = {
    clientId: opts.clientId,
    protocolVersion: v5 ? 5 : 4,
    clean: opts.clean ?? true,
    keepalive: opts.keepaliveSec ?? 60,
    reconnectPeriod: 0,
    queueQoSZero: false,
    connectTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    host: endpoint.host,
    hostname: endpoint.host,
    port: endpoint.port,
    username: opts.username ?? endpoint.username,
    password: opts.password ?? endpoint.password,
  }
  if (opts.sourceAddress !== undefined) options.localAddress = opts.sourceAddress
  if (opts.onSocket) options.onSocket = opts.onSocket
  if (opts.will) options.will = {...opts.will}
  if (v5 && opts.sessionExpirySec !== undefined) options.properties = {sessionExpiryInterval: opts.sessionExpirySec}
  if (v5 && opts.topicAliases) options.autoAssignTopicAlias = true
  if (endpoint.transport === 'mqtts' || endpoint.transport === 'wss') {
    const tls = opts.tls ?? {}
    options.rejectUnauthorized = tls.insecure !== true
    if (tls.ca) options.ca = readTlsFile(tls.ca, 'CA')
    if (tls.cert) options.cert = readTlsFile(tls.cert, 'certificate')
    if (tls.key) options.key = readTlsFile(tls.key, 'key')
    if (tls.servername) options.servername = tls.servername
  }
  return options
}

/** Plain TCP, bound to the client's source address when it has one. Shared by every client: no per-client closure. */
function tcpStreamBuilder(client: MqttClient) {
  const o = client.options as IotdClientOptions
  const socket = createConnection({host: o.host, port: o.port ?? 1883, localAddress: o.localAddress, noDelay: true})
  o.onSocket?.(socket)
  return socket
}

/** TLS that verifies the broker's certificate unless `insecure`; SNI from servername or a non-IP host. */
function tlsStreamBuilder(client: MqttClient) {
  const o = client.options as IotdClientOptions
  const host = o.host ?? 'localhost'
  // Node's tls.connect passes localAddress on to net.connect; @types/node's ConnectionOptions omits it.
  const tlsOptions: ConnectionOptions & {localAddress?: string} = {
    host,
    port: o.port ?? 8883,
    localAddress: o.localAddress,
    servername: o.servername ?? (isIpLiteral(host) ? undefined : host),
    ca: o.ca,
    cert: o.cert,
    key: o.key,
    rejectUnauthorized: o.rejectUnauthorized !== false,
  }
  const socket = tlsConnect(tlsOptions)
  socket.setNoDelay(true)
  o.onSocket?.(socket)
  return socket
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(':')
}

function ignoreError(): void {}

/** Fleets create thousands of clients for one URL; parse it once. */
let lastParsed: {url: string; endpoint: ParsedEndpoint} | undefined
function parseCached(url: string): ParsedEndpoint {
  if (lastParsed?.url !== url) lastParsed = {url, endpoint: parseEndpointUrl(url)}
  return lastParsed.endpoint
}

