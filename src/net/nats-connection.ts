/**
 * The one place NATS connections are made (@nats-io/transport-node) and JetStream streams are ensured
 * (@nats-io/jetstream), for the pipeline's `nats` source and sink. The client libraries load when something
 * connects, not when a command merely validates or lists a pipeline. Credentials are handed in, never printed:
 * messages name the servers without userinfo.
 */
import type {NatsConnection} from '@nats-io/transport-node'
import type {JetStreamManager, StreamConfig} from '@nats-io/jetstream'
import {UsageError} from '../errors.js'
import {redactUrl} from './redact-url.js'
import {checkUrl, type UrlRules} from './url-check.js'

export interface NatsConnectOptions {
  /** `nats://127.0.0.1:4222` or several, comma-separated or as a list. */
  servers: string | string[]
  /** Connection name shown by the server (`nats-server` monitoring, `nats server report connections`). */
  name: string
  user?: string
  pass?: string
  token?: string
  /** Give up the first connection after this long (the client then reconnects by itself, without end). */
  timeoutMs?: number
}

/** Servers as printed: each one's credentials masked by redactUrl. */
export function redactServers(servers: string | string[]): string {
  return (Array.isArray(servers) ? servers : servers.split(','))
    .map((s) => redactUrl(s.trim()))
    .join(',')
}

/**
 * What a NATS server may be written as: what the Node client connects to. It reads `host[:port]` and ignores any
 * scheme (so `nats//host` would dial a host named "nats").
 */
export const NATS_SERVER_RULES: UrlRules = {
  what: 'a NATS server',
  schemes: ['nats', 'tls'],
  refused: {ws: 'the Node client does not speak WebSocket: use nats://host:4222', wss: 'the Node client does not speak WebSocket: use nats://host:4222 (or tls://)'},
  example: 'nats://127.0.0.1:4222 (several comma-separated)',
  schemeOptional: true,
}

/**
 * The servers of a `url:` (comma-separated or a list), each checked by net/url-check.ts before anything connects.
 * Throws a UsageError (exit 2) naming the bad one, redacted.
 */
export function parseNatsServers(servers: string | string[]): string[] {
  const list = (Array.isArray(servers) ? servers : servers.split(',')).map((s) => s.trim())
  if (list.some((s) => s === '')) throw new UsageError(`"${redactServers(servers)}" names an empty NATS server (a stray comma?)`, [`e.g. ${NATS_SERVER_RULES.example}`])
  for (const s of list) checkUrl(s, NATS_SERVER_RULES)
  return list
}

export async function connectNats(o: NatsConnectOptions): Promise<NatsConnection> {
  const servers = parseNatsServers(o.servers)
  const {connect} = await import('@nats-io/transport-node')
  try {
    return await connect({
      servers,
      name: o.name,
      user: o.user,
      pass: o.pass,
      token: o.token,
      timeout: o.timeoutMs ?? 5000,
      // After the first connection, a lost server is reconnected without end (the sink retries meanwhile, the
      // source waits); the client's outbound buffer is bounded by reconnectBufSize.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
    })
  } catch (error) {
    throw new Error(`nats ${redactServers(o.servers)}: ${(error as Error).message}`, {cause: error})
  }
}

/** What `createStream:` asks for: the stream is made when missing, an existing one is used as it is. */
export interface StreamRequest {
  name: string
  subjects: string[]
  storage: 'file' | 'memory'
  /** Messages older than this are removed (ms; 0 = kept until limits). */
  maxAgeMs: number
  /** The window in which a repeated Nats-Msg-Id is dropped as a duplicate (ms). */
  duplicateWindowMs: number
}

export async function jetStreamManager(nc: NatsConnection): Promise<JetStreamManager> {
  const {jetstreamManager} = await import('@nats-io/jetstream')
  return jetstreamManager(nc)
}

/** Creates the stream when it does not exist; returns whether it was created. */
export async function ensureStream(jsm: JetStreamManager, s: StreamRequest): Promise<boolean> {
  try {
    await jsm.streams.info(s.name)
    return false
  } catch (error) {
    if (!isNotFound(error)) throw error
  }
  const {StorageType} = await import('@nats-io/jetstream')
  const config: Partial<StreamConfig> & {name: string} = {
    name: s.name,
    subjects: s.subjects,
    storage: s.storage === 'memory' ? StorageType.Memory : StorageType.File,
    max_age: s.maxAgeMs * 1_000_000,
    duplicate_window: s.duplicateWindowMs * 1_000_000,
  }
  await jsm.streams.add(config)
  return true
}

/** JetStream's "stream not found" / "consumer not found" (10059 / 10014), whatever the client's error class. */
export function isNotFound(error: unknown): boolean {
  const e = error as {code?: unknown; api_error?: {err_code?: number}; message?: string}
  const code = e.api_error?.err_code
  return code === 10059 || code === 10014 || /not found/i.test(e.message ?? '')
}
