/**
 * Broker URLs: parsing `mqtt://user:pass@host:port/path` into the parts a transport needs; every message quotes
 * the URL through redactUrl.
 */
import {UsageError} from '../errors.js'
import {redactUrl} from './redact-url.js'
import {checkUrl, type UrlRules} from './url-check.js'

export {redactUrl} from './redact-url.js'

export type MqttTransport = 'mqtt' | 'mqtts' | 'ws' | 'wss'

export interface ParsedEndpoint {
  transport: MqttTransport
  host: string
  port: number
  /** WebSocket path (`/mqtt`); empty for TCP transports. */
  path: string
  username?: string
  password?: string
  /** The URL with the password replaced by `***`, fit for messages. */
  display: string
}

const DEFAULT_PORTS: Record<MqttTransport, number> = {mqtt: 1883, mqtts: 8883, ws: 80, wss: 443}

/** Aliases other MQTT tools accept; normalised so there is one name per transport inside iotd. */
const TRANSPORT_ALIASES: Record<string, MqttTransport> = {
  mqtt: 'mqtt',
  tcp: 'mqtt',
  mqtts: 'mqtts',
  ssl: 'mqtts',
  tls: 'mqtts',
  ws: 'ws',
  wss: 'wss',
}

/** What a broker URL may be: the transports iotd speaks and the aliases other MQTT tools accept. */
export const BROKER_URL_RULES: UrlRules = {
  what: 'a broker URL',
  schemes: ['mqtt', 'mqtts', 'ws', 'wss'],
  aliases: Object.keys(TRANSPORT_ALIASES).filter((s) => !['mqtt', 'mqtts', 'ws', 'wss'].includes(s)),
  example: 'mqtt://127.0.0.1:1883 or mqtt://user:password@host:1883',
}

/**
 * Parses a broker URL. Throws a UsageError (exit 2) for a URL iotd cannot connect to (net/url-check.ts: scheme,
 * host, port range); its message quotes the URL redacted.
 */
export function parseEndpointUrl(url: string): ParsedEndpoint {
  const display = redactUrl(url)
  const transport = TRANSPORT_ALIASES[checkUrl(url, BROKER_URL_RULES).scheme ?? '']
  // checkUrl has refused a URL that does not parse or names no host.
  const parsed = new URL(url)
  // WHATWG URL keeps the brackets of an IPv6 literal; sockets want the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1')
  const isWs = transport === 'ws' || transport === 'wss'
  return {
    transport,
    host,
    port: parsed.port ? Number(parsed.port) : DEFAULT_PORTS[transport],
    path: isWs ? `${parsed.pathname || '/'}${parsed.search}` : '',
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    display,
  }
}

/** `host:port` with IPv6 literals bracketed, for messages. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/**
 * MQTT 3.1.1 sends a password only together with a user name (the CONNECT flags forbid one without the other), so a
 * broker closes such a connection without a word. Said before connecting instead; MQTT 5 allows a password alone.
 */
export function checkCredentials(protocol: '3.1.1' | '5', username: string | undefined, password: string | undefined, url?: string): void {
  if (password === undefined || username !== undefined || protocol !== '3.1.1') return
  // A user name in the URL's userinfo (mqtt://user@host) counts: the client sends it with the flag's password.
  let fromUrl: string | undefined
  try {
    fromUrl = url === undefined ? undefined : parseEndpointUrl(url).username
  } catch {
    fromUrl = undefined
  }
  if (fromUrl === undefined) {
    throw new UsageError('--password needs --username: MQTT 3.1.1 sends a password only with a user name', [
      'pass --username (or IOTD_USERNAME) too, or speak MQTT 5 (--mqtt-version 5; in a scenario, broker.protocol: "5"), which may send a password alone',
    ])
  }
}
