/**
 * The embedded broker (aedes, MQTT 3.1.1 only) and the rule that picks it: when the user names no broker, iotd uses
 * an MQTT broker already on 127.0.0.1:1883, or starts aedes itself so a newcomer sees something work at once.
 */
import {createServer, type Server, type Socket} from 'node:net'
import {Aedes} from 'aedes'
import {connectOnce} from './mqtt-connection.js'
import {MqttConnectError} from './connect-errors.js'
import {hostPort, parseEndpointUrl} from './mqtt-endpoint.js'
import {IotdError} from '../errors.js'

export interface EmbeddedBroker {
  /** mqtt://host:port as clients should use it. */
  url: string
  host: string
  port: number
  /** Clients currently connected (CONNACK sent, not yet gone). */
  clients(): number
  /** Disconnects every client, stops listening and frees the port. Safe to call twice. */
  close(): Promise<void>
}

export interface ResolvedBroker {
  url: string
  /** Set when iotd started a broker in this process; the caller closes it at the end of the run. */
  embedded?: EmbeddedBroker
  /** One line for stderr saying which broker is used and why (absent when the user gave the URL). */
  note?: string
}

export const DEFAULT_BROKER_URL = 'mqtt://127.0.0.1:1883'

/** Starts aedes on a TCP listener; port 0 lets the OS choose. Rejects with the listen error (EADDRINUSE, EACCES). */
export async function startEmbeddedBroker(opts: {host?: string; port?: number} = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1'
  const aedes = await Aedes.createBroker()
  // Sockets that have not sent CONNECT yet are not aedes clients; track every socket so close() can end them all.
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    aedes.handle(socket)
  })
  try {
    await listen(server, opts.port ?? 1883, host)
  } catch (err) {
    await closeAedes(aedes)
    throw err
  }
  const port = (server.address() as {port: number}).port
  let closing: Promise<void> | undefined
  return {
    url: `mqtt://${hostPort(host, port)}`,
    host,
    port,
    clients: () => aedes.connectedClients,
    close: () =>
      (closing ??= (async () => {
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()))
        await closeAedes(aedes)
        for (const socket of sockets) socket.destroy()
        await serverClosed
      })()),
  }
}

/**
 * Picks the broker for a run. A user-given `url` always wins (and no broker is started). Otherwise `defaultUrl`
 * (mqtt://127.0.0.1:1883; injectable for tests) is probed with a real MQTT CONNECT:
 * - a CONNACK (even a refusal: an MQTT broker is there) -> use it;
 * - connection refused -> start aedes on that host and port;
 * - something accepts TCP but does not speak MQTT (no CONNACK within the probe timeout), or the port turns out to be
 *   taken -> start aedes on an OS-assigned port of that host.
 */
export async function resolveBroker(opts: {url?: string; defaultUrl?: string; probeTimeoutMs?: number} = {}): Promise<ResolvedBroker> {
  if (opts.url) return {url: opts.url}
  const defaultUrl = opts.defaultUrl ?? DEFAULT_BROKER_URL
  const {host, port} = parseEndpointUrl(defaultUrl)
  const where = hostPort(host, port)
  const probe = await probeMqtt(defaultUrl, opts.probeTimeoutMs ?? 1500)
  if (probe.kind === 'mqtt') {
    const refusal = probe.refusal ? ` (it refused an anonymous probe: ${probe.refusal}; pass credentials if needed)` : ''
    return {url: defaultUrl, note: `using the MQTT broker at ${where}${refusal}`}
  }
  const started = 'started the embedded broker (aedes, MQTT 3.1.1)'
  if (probe.kind === 'nothing') {
    try {
      const embedded = await startEmbeddedBroker({host, port})
      return {url: embedded.url, embedded, note: `no broker at ${where}: ${started} on ${embedded.url} — try \`iotd tail '#'\` in another terminal`}
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw listenError(host, port, err)
      // Something took the port between the probe and our listen: fall through to an OS-assigned port.
    }
  }
  const embedded = await startEmbeddedBroker({host, port: 0}).catch((err: unknown) => {
    throw listenError(host, 0, err)
  })
  return {
    url: embedded.url,
    embedded,
    note: `${where} is in use by something that is not an MQTT broker: ${started} on ${embedded.url} instead`,
  }
}

type ProbeResult = {kind: 'mqtt'; refusal?: string} | {kind: 'nothing'} | {kind: 'not-mqtt'}

async function probeMqtt(url: string, timeoutMs: number): Promise<ProbeResult> {
  try {
    const client = await connectOnce({url, clientId: `iotd-probe-${process.pid}-${Date.now() % 100_000}`, connectTimeoutMs: timeoutMs, keepaliveSec: 0})
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()))
    return {kind: 'mqtt'}
  } catch (err) {
    if (err instanceof MqttConnectError) {
      if (err.reason === 'rejected') return {kind: 'mqtt', refusal: err.message}
      if (err.reason === 'unreachable' && err.code === 'ECONNREFUSED') return {kind: 'nothing'}
    }
    return {kind: 'not-mqtt'}
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.removeListener('error', onError)
      resolve()
    })
  })
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()))
}

function listenError(host: string, port: number, err: unknown): IotdError {
  const code = (err as NodeJS.ErrnoException).code ?? String(err)
  return new IotdError(`cannot start the embedded broker on ${hostPort(host, port)} (${code})`, undefined, [
    code === 'EADDRINUSE' ? 'pick another port (--port 0 lets the OS choose)' : 'check the host address',
  ])
}
