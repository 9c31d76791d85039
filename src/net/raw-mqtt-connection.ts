/**
 * Raw MQTT connections for the bench hot path: a plain TCP socket that has completed CONNECT/CONNACK, on which the
 * bench writes pre-encoded frames (publish-frame.ts) and reads with AckReader or PublishReader, with no MQTT.js
 * client in between. MQTT.js costs more per message than the broker does at bench rates; everything else in iotd
 * (sim, tail, pipeline) goes through src/net's connection factory.
 *
 * Once per connection, off the hot path, mqtt-packet builds CONNECT and SUBSCRIBE and decodes the CONNACK; the
 * SUBACK is read from PublishReader's onOther. Connection failures are described by src/net's describeConnectError, so a bench
 * connection fails with the same sentences (and exit code 1) as any other iotd connection.
 *
 * Transports: TCP and TLS (mqtts://, verified unless `insecure`); no WebSockets. Limits, on purpose: no MQTT 5 AUTH
 * exchange; QoS 2 deliveries are not acknowledged by this module (PUBREL reaches the
 * reader's onOther, the caller would answer PUBREC/PUBCOMP).
 */
import {createConnection, type Socket} from 'node:net'
import {connect as tlsConnect} from 'node:tls'
import mqttPacket from 'mqtt-packet'
import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import {connackRefused, describeConnectError} from './connect-errors.js'
import {DEFAULT_CONNECT_TIMEOUT_MS, type MqttEndpoint} from './mqtt-connection.js'
import {readTlsFile} from './tls-files.js'
import {readFixedHeader, readVariableByteInteger, type FixedHeader, type MqttProtocolVersion, type QoS, type VariableByteInteger} from './mqtt-wire.js'
import {
  PACKET_TYPE,
  type NonPublishHandler,
  type PublishHandler,
  type PublishReader,
} from './publish-reader.js'

export interface RawConnectionOptions {
  host: string
  port: number
  clientId: string
  /** 4 = MQTT 3.1.1, 5 = MQTT 5. */
  protocolVersion: MqttProtocolVersion
  username?: string
  password?: string
  /**
   * Keepalive in seconds; 0 (the default) turns it off. When it is on, a PINGREQ is written every interval (the
   * PINGRESP reaches the reader's onOther). An MQTT 5 broker's Server Keep Alive in CONNACK replaces it.
   */
  keepaliveSec?: number
  /** Clean session (3.1.1) / clean start (5); default true. */
  clean?: boolean
  /** TCP connect + CONNACK, default 10 s. */
  connectTimeoutMs?: number
  /** Source address to bind (see src/net/source-addresses.ts). */
  localAddress?: string
  /** TLS (mqtts://): certificates are verified unless `insecure`. Absent: plain TCP. */
  tls?: NonNullable<MqttEndpoint['tls']>
}

const PINGREQ = Buffer.from([0xc0, 0x00])

/** SUBACK failure texts (MQTT 5 reason codes; 3.1.1 only has 0x80). */
const SUBACK_FAILURES: Record<number, string> = {
  128: 'refused (unspecified error)',
  131: 'implementation specific error',
  135: 'not authorized',
  143: 'topic filter invalid',
  145: 'packet identifier in use',
  151: 'quota exceeded',
  158: 'shared subscriptions not supported',
  161: 'subscription identifiers not supported',
  162: 'wildcard subscriptions not supported',
}

/**
 * Opens a TCP connection, sends CONNECT and resolves with the socket once the broker accepts it (CONNACK 0).
 *
 * The socket comes back **paused**, with any bytes that followed the CONNACK put back in front of its stream
 * (a persistent session can deliver right behind the CONNACK): attach a 'data' listener, then call
 * `socket.resume()`. Nothing is lost between the CONNACK and that listener. Nagle is off (`setNoDelay`).
 *
 * Rejects with an MqttConnectError (exit 1) saying why: refused by CONNACK (with the reason), unreachable,
 * timeout, closed before answering.
 */
export function openRawConnection(opts: RawConnectionOptions): Promise<Socket> {
  const broker = `${opts.tls ? 'mqtts' : 'mqtt'}://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`
  const connectTimeoutMs = opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const {protocolVersion} = opts
  let connect: Buffer
  try {
    connect = mqttPacket.generate(
      {
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion,
        clientId: opts.clientId,
        clean: opts.clean ?? true,
        keepalive: opts.keepaliveSec ?? 0,
        ...(opts.username !== undefined ? {username: opts.username} : {}),
        ...(opts.password !== undefined ? {password: Buffer.from(opts.password, 'utf8')} : {}),
      },
      {protocolVersion},
    )
  } catch (err) {
    // mqtt-packet refuses what MQTT forbids (an empty client id without a clean session, a keepalive over 65,535 s).
    return Promise.reject(new UsageError(`cannot build the MQTT CONNECT for "${opts.clientId}": ${err instanceof Error ? err.message : String(err)}`))
  }
  return new Promise<Socket>((resolve, reject) => {
    const tls = opts.tls
    const socket: Socket = tls
      ? tlsConnect({
          // The TCP socket is made first: tls.connect has no localAddress of its own.
          socket: createConnection({host: opts.host, port: opts.port, localAddress: opts.localAddress}),
          host: opts.host,
          servername: tls.servername ?? (/^[\d.:]+$/.test(opts.host) ? undefined : opts.host),
          rejectUnauthorized: tls.insecure !== true,
          ca: tls.ca ? readTlsFile(tls.ca, 'CA') : undefined,
          cert: tls.cert ? readTlsFile(tls.cert, 'certificate') : undefined,
          key: tls.key ? readTlsFile(tls.key, 'key') : undefined,
        })
      : createConnection({host: opts.host, port: opts.port, localAddress: opts.localAddress})
    socket.setNoDelay(true)
    let received: Buffer = Buffer.alloc(0)
    const h: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}
    let settled = false

    const finish = (err?: unknown): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.off('data', onData)
      socket.off('error', onError)
      socket.off('close', onClose)
      socket.off('connect', onConnect)
      if (err === undefined) return resolve(socket)
      socket.destroy()
      reject(err)
    }
    const onError = (err: Error): void =>
      finish(describeConnectError(broker, err, {connectTimeoutMs, sourceAddress: opts.localAddress}))
    const onClose = (): void => finish(describeConnectError(broker, undefined))
    const timer = setTimeout(() => onError(new Error('connack timeout')), connectTimeoutMs)
    const onConnect = (): void => {
      socket.write(connect)
    }
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk])
      let complete: boolean
      try {
        complete = readFixedHeader(received, 0, h) && received.length >= h.headerBytes + h.remaining
      } catch (err) {
        return finish(err)
      }
      if (!complete) return
      const length = h.headerBytes + h.remaining
      const connack = readConnack(received.subarray(0, length), protocolVersion, broker)
      if (connack instanceof Error) return finish(connack)
      const keepaliveSec = connack.serverKeepAliveSec ?? opts.keepaliveSec ?? 0
      socket.pause()
      if (received.length > length) socket.unshift(received.subarray(length))
      if (keepaliveSec > 0) startPings(socket, keepaliveSec)
      finish()
    }
    socket.on('data', onData)
    socket.on('error', onError)
    socket.on('close', onClose)
    // A TLS socket may only write once the handshake is done.
    socket.once(tls ? 'secureConnect' : 'connect', onConnect)
  })
}

/**
 * Decodes the CONNACK (with mqtt-packet: once per connection, not on the hot path). Returns the MQTT 5 Server
 * Keep Alive when the broker set one (it replaces the client's keepalive), or the error to reject with.
 */
function readConnack(packet: Buffer, protocolVersion: MqttProtocolVersion, broker: string): {serverKeepAliveSec?: number} | IotdError {
  if (packet[0] >> 4 !== PACKET_TYPE.connack) {
    return new IotdError(`${broker} answered CONNECT with packet type ${packet[0] >> 4}, not CONNACK: is this an MQTT listener?`)
  }
  const parser = mqttPacket.parser({protocolVersion})
  let decoded: mqttPacket.Packet | undefined
  let parseError: Error | undefined
  parser.on('packet', (p: mqttPacket.Packet) => (decoded = p))
  parser.on('error', (err: Error) => (parseError = err))
  parser.parse(packet)
  if (decoded?.cmd !== 'connack') return new IotdError(`malformed CONNACK from ${broker}: ${parseError?.message ?? 'not decodable'}`)
  const code = (protocolVersion === 5 ? decoded.reasonCode : decoded.returnCode) ?? 0
  if (code !== 0) {
    return connackRefused(broker, code)
  }
  return {serverKeepAliveSec: decoded.properties?.serverKeepAlive}
}

/** Writes PINGREQ every keepalive interval until the socket closes (a bench subscriber may write nothing else). */
function startPings(socket: Socket, keepaliveSec: number): void {
  const interval = setInterval(() => {
    if (socket.writable) socket.write(PINGREQ)
  }, keepaliveSec * 1000)
  interval.unref()
  socket.once('close', () => clearInterval(interval))
}

export interface SubscriptionRequest {
  topic: string
  qos: QoS
}

export interface SubscribeOptions {
  /** Packet id of the SUBSCRIBE (1–65,535), default 1. */
  packetId?: number
  /** How long to wait for the SUBACK, default 10 s. */
  timeoutMs?: number
}

/**
 * Subscribes on a connection from {@link openRawConnection} and resolves with the granted QoS of each filter, in
 * order. Reads the socket through `reader` (the one the caller keeps using afterwards, so a packet split across
 * the SUBACK's chunk and the next is not lost) until the SUBACK arrives; then removes its listener and leaves the
 * socket paused: attach your own 'data' listener (feeding the same reader) and call `socket.resume()`.
 *
 * `onPublish` is the caller's delivery handler, needed before the promise resolves: retained messages follow the
 * SUBACK at once (often in the same TCP segment, so in the same push), and an earlier subscription may deliver
 * before it. Non-PUBLISH packets other than the SUBACK are passed to `onOther` when given.
 *
 * Rejects with an IotdError (exit 1) when a filter is refused (naming it and the reason), on a timeout, or when
 * the connection closes. One subscribeRaw at a time per socket, before the caller's own listener is attached.
 */
export function subscribeRaw(
  socket: Socket,
  reader: PublishReader,
  filters: SubscriptionRequest[],
  protocolVersion: MqttProtocolVersion,
  onPublish: PublishHandler,
  options: SubscribeOptions & {onOther?: NonPublishHandler} = {},
): Promise<QoS[]> {
  if (filters.length === 0) return Promise.reject(new IotdError('subscribeRaw needs at least one topic filter', EXIT_CODES.usage))
  const packetId = options.packetId ?? 1
  const timeoutMs = options.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
  const described = filters.map((f) => `"${f.topic}" (QoS ${f.qos})`).join(', ')
  return new Promise<QoS[]>((resolve, reject) => {
    let settled = false
    const finish = (err: unknown, granted?: QoS[]): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.pause()
      socket.off('data', onData)
      socket.off('close', onClose)
      socket.off('error', onError)
      if (granted) resolve(granted)
      else reject(err)
    }
    const timer = setTimeout(() => finish(new IotdError(`no SUBACK within ${timeoutMs / 1000} s for ${described}`)), timeoutMs)
    const onClose = (): void => finish(new IotdError(`the connection closed before the SUBACK for ${described}`))
    const onError = (err: Error): void => finish(new IotdError(`subscribing to ${described} failed: ${err.message}`))
    const onOther = (type: number, flags: number, body: Buffer): void => {
      if (settled || type !== PACKET_TYPE.suback || body.length < 2 || body.readUInt16BE(0) !== packetId) {
        options.onOther?.(type, flags, body)
        return
      }
      const result = readSubackCodes(body, protocolVersion, filters.length)
      if (typeof result === 'string') return finish(new IotdError(`malformed SUBACK for ${described}: ${result}`))
      const refused = result.findIndex((code) => code >= 0x80)
      if (refused >= 0) {
        const code = result[refused]
        return finish(
          new IotdError(`the broker refused the subscription to "${filters[refused].topic}": ${SUBACK_FAILURES[code] ?? 'refused'} (code 0x${code.toString(16)})`, EXIT_CODES.runtime, [
            'check the topic filter and the broker ACLs',
          ]),
        )
      }
      finish(undefined, result as QoS[])
    }
    const onData = (chunk: Buffer): void => {
      try {
        reader.push(chunk, onPublish, onOther)
      } catch (err) {
        finish(err)
      }
    }
    socket.on('data', onData)
    socket.on('close', onClose)
    socket.on('error', onError)
    socket.write(mqttPacket.generate({cmd: 'subscribe', messageId: packetId, subscriptions: filters.map((f) => ({topic: f.topic, qos: f.qos}))}, {protocolVersion}))
    socket.resume()
  })
}

/** The SUBACK's return/reason codes, one per filter, or a sentence saying what is wrong with it. */
function readSubackCodes(body: Buffer, protocolVersion: MqttProtocolVersion, expected: number): number[] | string {
  let at = 2
  if (protocolVersion === 5) {
    const v: VariableByteInteger = {value: 0, bytes: 0}
    try {
      readVariableByteInteger(body, at, body.length, v)
    } catch {
      return 'bad property length'
    }
    at += v.bytes + v.value
  }
  const codes = [...body.subarray(at)]
  if (codes.length !== expected) return `${codes.length} codes for ${expected} filters`
  return codes
}

/** PUBACK frames a batch can hold before it is written even though the chunk is not finished. */
const PUBACK_BATCH = 1024

/**
 * Acknowledges QoS 1 deliveries on a subscriber connection. `add(packetId)` patches the id into a pre-built run of
 * 4-byte PUBACK frames (0x40 0x02 id id: reason "success" and no properties, valid for 3.1.1 and 5); the acks
 * added while one chunk is read go out in one write, in the order the PUBLISHes arrived (as MQTT requires),
 * at the end of the current turn (a microtask) or when {@link flush} is called. PUBACKs keep the broker's
 * in-flight window open: without them it stops delivering after max_inflight_messages.
 */
export class PubackWriter {
  private readonly frames = Buffer.alloc(PUBACK_BATCH * 4)
  private count = 0
  private scheduled = false
  private written = 0
  private readonly flushNow = (): void => {
    this.scheduled = false
    this.flush()
  }

  constructor(private readonly socket: Socket) {
    for (let i = 0; i < PUBACK_BATCH; i++) {
      this.frames[i * 4] = 0x40
      this.frames[i * 4 + 1] = 0x02
    }
  }

  /** PUBACKs handed to the socket so far. */
  get sent(): number {
    return this.written
  }

  add(packetId: number): void {
    const at = this.count * 4
    this.frames[at + 2] = packetId >> 8
    this.frames[at + 3] = packetId & 0xff
    if (++this.count === PUBACK_BATCH) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flushNow)
    }
  }

  /** Writes the pending PUBACKs now (a copy: the pre-built frames are patched again before the write completes). */
  flush(): void {
    if (this.count === 0) return
    const n = this.count
    this.count = 0
    this.written += n
    if (this.socket.writable) this.socket.write(Buffer.from(this.frames.subarray(0, n * 4)))
  }
}
