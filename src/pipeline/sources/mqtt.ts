/**
 * `mqtt` source: subscribes to topic filters (shared subscriptions `$share/group/...` included) and yields one
 * delivery per message.
 *
 * Backpressure: MQTT.js hands incoming PUBLISH packets to `handleMessage` one at a time and reads no further packet
 * until its callback runs. The source queues up to `queueSize` messages and holds the callback while the queue is
 * full, so MQTT.js stops reading the socket and TCP pushes back on the broker; memory stays bounded however slow the
 * consumer is.
 *
 * At-least-once: a QoS 1 message is PUBACKed when `Delivery.ack()` is called (after the sinks took it), not when it
 * arrives. MQTT.js sends the PUBACK from inside its packet loop; the source intercepts that one packet and sends it
 * itself on ack, so acks can lag while later messages keep flowing. A message still un-acked when the connection
 * drops is sent again by the broker (persistent sessions). QoS 2 keeps MQTT.js's own exactly-once handshake.
 */
import type {IPublishPacket, MqttClient} from 'mqtt'
import {z} from 'zod'
import {UsageError} from '../../errors.js'
import {backoffDelay, DEFAULT_BACKOFF} from '../../net/backoff.js'
import type {ClientOptions} from '../../net/mqtt-connection.js'
import {parseEndpointUrl, redactUrl} from '../../net/mqtt-endpoint.js'
import {checkedUrl} from '../../config/url-schema.js'
import {SparkplugHostSession, type HostCounters} from '../../sparkplug/host-session.js'
import {observationRows} from '../../sparkplug/views.js'
import {findFilterFault} from '../../net/topic-rules.js'
import {cellValue} from './csv-mapping.js'
import {DeliveryInbox} from './delivery-inbox.js'
import {arrivalNow, defineSource, NOOP_ACK, type Delivery, type PipelineRecord, type Source, type StageContext} from '../types.js'
import {mqttProtocol} from '../../config/units-schema.js'
import {INSECURE_TLS_WARNING} from '../../net/tls-files.js'
import {mqttTlsOptions, resolveTlsFiles, tlsFileProblems, tlsOf, unparsedTlsFileProblems} from '../mqtt-tls.js'

/** A subscription's topic filter: its one issue says which rule it breaks (topicFilterProblem, asked once). */
const topicFilter = z
  .string()
  .min(1)
  .superRefine((t, ctx) => {
    const problem = topicFilterProblem(t)
    if (problem) ctx.addIssue({code: 'custom', message: problem})
  })

export const mqttSourceOptions = z
  .object({
    url: checkedUrl(parseEndpointUrl).describe('Broker URL: mqtt://, mqtts://, ws://, wss:// (user:pass@ allowed; prefer passwordEnv).'),
    topics: z.array(topicFilter).min(1).default(['#']).describe('Topic filters; `$share/<group>/<filter>` for a shared subscription.'),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(0).describe('Subscription QoS.'),
    protocol: mqttProtocol().default('3.1.1').describe('MQTT version; 5 shows user properties, content type, etc.'),
    clientId: z.string().optional().describe('Client id (default iotd-<pid>-<random>).'),
    username: z.string().optional(),
    password: z.string().optional().describe('Password (prefer passwordEnv, so it is not in the file).'),
    passwordEnv: z.string().optional().describe('Name of the environment variable holding the password.'),
    clean: z.boolean().default(true).describe('Clean session; false keeps the subscription and queued QoS 1/2 messages across restarts.'),
    sessionExpiry: z.number().int().min(0).optional().describe('MQTT 5 session expiry in seconds (with clean: false).'),
    keepalive: z.number().int().min(0).default(60).describe('Keepalive in seconds.'),
    ...mqttTlsOptions,
    payload: z
      .enum(['auto', 'json', 'csv', 'raw', 'sparkplugb'])
      .default('json')
      .describe('Payload decoding: json (invalid JSON is dead-lettered), csv (one line), raw (bytes only), auto (JSON when it parses, else text), sparkplugb (Sparkplug B: one row per metric, names from the births; docs/sparkplug.md).'),
    csvColumns: z.array(z.string()).optional().describe('payload: csv -> names of the columns (otherwise an array).'),
    retained: z.enum(['include', 'exclude', 'only']).default('include').describe('Retained messages: include, exclude, or only them.'),
    retainAsPublished: z.boolean().default(false).describe('MQTT 5: the retain flag says how each message was published (retain-as-published), not only whether it came from the store at subscribe time.'),
    queueSize: z.number().int().min(1).max(1_000_000).default(10_000).describe('Messages held before the socket is paused (backpressure).'),
    connectAttempts: z.number().int().min(1).default(5).describe('Connection attempts before giving up (at start).'),
  })
  .strict()

export type MqttSourceOptions = z.infer<typeof mqttSourceOptions>

/**
 * The options of an mqtt source built from flags (tail, record) rather than a pipeline file: what the file's
 * validation refuses (a malformed --broker, a bad topic filter) is a UsageError (exit 2) with the same message.
 */
export function mqttSourceOptionsFrom(input: Record<string, unknown>): MqttSourceOptions {
  const parsed = mqttSourceOptions.safeParse(input)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  throw new UsageError(issue.code === 'custom' ? issue.message : `${issue.path.join('.')}: ${issue.message}`)
}

/** What is wrong with a subscription's topic filter (`$share/<group>/<filter>` included), or undefined. */
export function topicFilterProblem(t: string): string | undefined {
  const filter = t.startsWith('$share/') ? t.split('/').slice(2).join('/') : t
  const fault = findFilterFault(filter)
  if (!fault) return undefined
  if (filter === '') return t === '' ? `topic filter ${fault.what}: ${fault.why}` : `topic filter "${t}" names no filter after $share/<group>/: ${fault.why}`
  // The column counts in t, past a $share/<group>/ prefix.
  return `topic filter "${t}" ${fault.what} at column ${t.length - filter.length + fault.column}: ${fault.why}`
}

export const mqttSource = defineSource<MqttSourceOptions>({
  type: 'mqtt',
  summary: 'Subscribes to MQTT topic filters (shared subscriptions, MQTT 5 properties, QoS 1 acked after the sinks).',
  options: mqttSourceOptions,
  example: {url: 'mqtt://127.0.0.1:1883', topics: ['plant/+/telemetry'], qos: 1, payload: 'json'},
  check: tlsFileProblems,
  checkUnparsed: unparsedTlsFileProblems,
  create: (options, name, env) => new MqttSource(name, {...resolveTlsFiles(options, env.baseDir), password: options.password ?? (options.passwordEnv ? env.env[options.passwordEnv] : undefined)}),
})

export interface MqttSourceStats {
  received: number
  bytes: number
  /** Dropped by the `retained` option. */
  filtered: number
  /** Payloads that did not decode (dead-lettered). */
  invalid: number
  reconnects: number
  /** Times the socket was paused because the queue was full. */
  pauses: number
  /** payload: sparkplugb — the messages and the host checks (seq gaps, data before birth, stale bdSeq). */
  sparkplug?: HostCounters
}

interface PendingAck {
  /** MQTT.js reached its PUBACK for this message (we hold it). */
  held: boolean
  acked: boolean
  generation: number
}

type SendPacket = (packet: {cmd: string; messageId?: number; reasonCode?: number}, cb?: (err?: Error) => void, ...rest: unknown[]) => void
/** The one private MQTT.js method the source wraps (see the file comment); private in its typings. */
interface MqttClientInternals {
  _sendPacket: SendPacket
}

export class MqttSource implements Source {
  readonly stats: MqttSourceStats = {received: 0, bytes: 0, filtered: 0, invalid: 0, reconnects: 0, pauses: 0}
  private client: MqttClient | undefined
  private readonly inbox = new DeliveryInbox()
  private heldCallback: (() => void) | undefined
  private closing = false
  private reconnectTimer: NodeJS.Timeout | undefined
  private generation = 0
  private readonly pending = new Map<number, PendingAck>()
  private ctx: StageContext | undefined
  /** The first CONNACK said the broker kept this client's session (clean: false). */
  private sessionPresent = false
  /**
   * When the latest bytes came off the socket (epoch ms, µs precision): the arrival time of the messages in them.
   * MQTT.js hands messages over a tick apart, and a process just started runs its parsing cold (several ms for
   * the first messages), so the time of handling would stamp them late by what the process did, not the network.
   * Under backpressure a message can be stamped with a later read's time: never earlier than it arrived.
   */
  private bytesArrivedAt = 0
  /** payload: sparkplugb — births, aliases and seq per edge node, as a host application keeps them. */
  private readonly sparkplug: SparkplugHostSession | undefined
  private readonly onBytes = (): void => {
    this.bytesArrivedAt = arrivalNow()
  }

  constructor(
    readonly name: string,
    private readonly options: MqttSourceOptions,
  ) {
    if (options.payload === 'sparkplugb') {
      this.sparkplug = new SparkplugHostSession()
      this.stats.sparkplug = this.sparkplug.counters
    }
    for (const t of options.topics) {
      const problem = topicFilterProblem(t)
      if (problem) throw new Error(problem)
    }
  }

  /** The broker as printed (password hidden). */
  get broker(): string {
    return redactUrl(this.options.url)
  }

  /**
   * Connects and subscribes; read() calls it, tools may call it first to fail early. Each failed attempt before the
   * last is said through `warn` (the attempt, the error, when the next one starts), as bench and sim say theirs.
   */
  async connect(signal?: AbortSignal, warn?: (message: string) => void): Promise<void> {
    if (this.client) return
    const o = this.options
    const clientOptions: ClientOptions = {
      url: o.url,
      protocol: o.protocol,
      username: o.username,
      password: o.password,
      clientId: o.clientId ?? `iotd-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
      clean: o.clean,
      sessionExpirySec: o.sessionExpiry,
      keepaliveSec: o.keepalive,
      tls: tlsOf(o),
      onSocket: (socket) => socket.prependListener('data', this.onBytes),
      onClient: (client) => this.install(client),
    }
    // MQTT.js loads when a pipeline connects, not when a command merely validates or lists one.
    const {connectWithRetry, sayRetries} = await import('../../net/mqtt-connection.js')
    const say = warn ?? this.ctx?.warn
    const client = await connectWithRetry(clientOptions, {
      ...DEFAULT_BACKOFF,
      attempts: o.connectAttempts,
      signal,
      onRetry: sayRetries(this.name, o.connectAttempts, say),
    })
    this.client = client
    const subscribed = this.subscribe(client)
    if (this.sessionPresent) {
      // A session the broker kept has the subscription already and sends its queued messages right after the
      // CONNACK, ahead of the SUBACK: once `queueSize` of them wait for the consumer MQTT.js reads no further, so
      // waiting for the SUBACK here would deadlock. A refused subscription fails the read instead.
      subscribed.catch((err: Error) => this.inbox.fail(err))
    } else await subscribed
    client.on('connect', (connack) => {
      this.generation++
      this.pending.clear()
      if (!connack.sessionPresent) this.subscribe(client).catch((err: Error) => this.ctx?.warn(`${this.name}: subscribe failed after reconnect: ${err.message}`))
    })
    // Reconnects until close(): the pending timer is what keeps the process alive while the broker is away (the
    // socket is gone and the reader only waits on a promise), so it is not unref'd, and close() clears it.
    let attempt = 0
    let lastError: Error | undefined
    client.on('error', (err) => (lastError ??= err))
    client.on('connect', () => {
      if (attempt > 0) this.ctx?.warn(`${this.name}: reconnected to ${this.broker} after ${attempt} attempt${attempt === 1 ? '' : 's'}`)
      attempt = 0
      lastError = undefined
    })
    client.on('close', () => {
      if (this.closing) return
      const delay = backoffDelay(attempt, DEFAULT_BACKOFF, Math.random)
      const next = `reconnecting in ${Math.round(delay)} ms`
      this.ctx?.warn(attempt === 0
        ? `${this.name}: lost the connection to ${this.broker}; ${next}`
        : `${this.name}: reconnect attempt ${attempt} to ${this.broker} failed${lastError ? ` (${lastError.message})` : ''}; ${next}`)
      attempt++
      lastError = undefined
      this.stats.reconnects++
      clearTimeout(this.reconnectTimer)
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined
        if (!this.closing) client.reconnect()
      }, delay)
    })
  }

  async *read(ctx: StageContext): AsyncIterable<Delivery> {
    for await (const batch of this.readBatches(ctx)) yield* batch
  }

  async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
    this.ctx = ctx
    if (this.options.insecure) ctx.warn(`${this.name}: ${INSECURE_TLS_WARNING}`)
    await this.connect(ctx.signal, ctx.warn)
    yield* this.inbox.batches(ctx.signal, () => this.closing, () => this.release())
  }

  /** Messages waiting to be pulled (for live views). */
  get queued(): number {
    return this.inbox.length
  }

  async close(): Promise<void> {
    const spb = this.sparkplug?.counters
    if (spb && !this.closing && spb.seqGaps + spb.dataBeforeBirth + spb.staleBdSeq + spb.unknownAliases > 0) {
      this.ctx?.warn(`source ${this.name}: Sparkplug host checks: ${spb.seqGaps} seq gaps (${spb.missedMessages} messages missed), ${spb.dataBeforeBirth} data before birth, ${spb.staleBdSeq} stale bdSeq, ${spb.unknownAliases} unknown aliases`)
    }
    this.closing = true
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    this.inbox.nudge()
    this.release()
    const client = this.client
    this.client = undefined
    if (client) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()))
  }

  private async subscribe(client: MqttClient): Promise<void> {
    const o = this.options
    // MQTT 5 retain handling 2: the broker does not send retained messages at subscribe time at all.
    const rh = o.protocol === '5' && o.retained === 'exclude' ? 2 : 0
    const granted = await client.subscribeAsync(o.topics, {qos: o.qos, rh, ...(o.protocol === '5' && o.retainAsPublished ? {rap: true} : {})})
    const refused = granted.filter((g) => g.qos === 128 || (g.qos as number) >= 0x80)
    if (refused.length > 0) {
      throw new Error(`the broker refused the subscription to ${refused.map((g) => g.topic).join(', ')}`)
    }
  }

  private install(client: MqttClient): void {
    client.once('connect', (connack) => (this.sessionPresent = connack.sessionPresent))
    const internals = client as unknown as MqttClientInternals
    const sendPacket = internals._sendPacket.bind(client)
    internals._sendPacket = (packet, cb, ...rest) => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined) {
        const p = this.pending.get(packet.messageId)
        if (p && !p.acked) {
          // Hold the PUBACK until the delivery is acked; let MQTT.js go on with the next packet.
          p.held = true
          cb?.()
          return
        }
        this.pending.delete(packet.messageId)
      }
      sendPacket(packet, cb, ...rest)
    }
    client.handleMessage = (packet, callback) => {
      this.accept(packet, sendPacket)
      if (this.queued < this.options.queueSize) callback()
      else {
        this.stats.pauses++
        this.heldCallback = callback as () => void
      }
    }
  }

  /** Frees the held callback once the consumer has taken messages: MQTT.js reads the socket again. */
  private release(): void {
    const cb = this.heldCallback
    if (cb && (this.closing || this.queued < this.options.queueSize)) {
      this.heldCallback = undefined
      cb()
    }
  }

  private accept(packet: IPublishPacket, sendPacket: SendPacket): void {
    const o = this.options
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload
    this.stats.received++
    this.stats.bytes += payload.length
    const ack = this.ackFor(packet, sendPacket)
    if ((o.retained === 'exclude' && packet.retain) || (o.retained === 'only' && !packet.retain)) {
      this.stats.filtered++
      ack()
      return
    }
    const now = this.bytesArrivedAt || arrivalNow()
    const record: PipelineRecord = {
      ts: now,
      topic: packet.topic,
      payload,
      meta: {source: this.name, topic: packet.topic, qos: packet.qos, retain: packet.retain, arrivedAt: now},
    }
    if (packet.messageId !== undefined) record.meta.messageid = packet.messageId
    if (packet.dup) record.meta.dup = true
    if (packet.properties && Object.keys(packet.properties).length > 0) record.meta.properties = {...packet.properties}
    if (this.sparkplug) {
      this.acceptSparkplug(this.sparkplug, record, ack)
      return
    }
    const decoded = decodePayload(payload, o.payload, o.csvColumns)
    if (decoded === INVALID) {
      this.stats.invalid++
      this.ctx?.deadLetter({stage: `source:${this.name}`, reason: `payload on ${packet.topic} is not valid ${o.payload === 'csv' ? 'CSV' : 'JSON'}`, record, at: Date.now()})
      ack()
      return
    }
    if (decoded !== undefined) record.fields = decoded
    this.inbox.push({record, ack})
  }

  /**
   * One row per metric (a death or STATE: one row), each its own delivery; the message is acked when every row is.
   * What is not Sparkplug B (another topic, bytes that do not decode) goes to the dead letter.
   */
  private acceptSparkplug(host: SparkplugHostSession, record: PipelineRecord, ack: () => void): void {
    const topic = record.topic ?? ''
    const obs = host.observe(topic, record.payload as Buffer)
    const rows = obs ? observationRows(obs) : []
    if (!obs || obs.kind === 'undecodable' || (obs.kind === 'state' && obs.online === undefined)) {
      this.stats.invalid++
      const reason = obs ? (obs.problems[0]?.message ?? `${topic}: not Sparkplug B`) : `${topic} is not a Sparkplug B topic (spBv1.0/<group>/<type>/<edge node>[/<device>] or spBv1.0/STATE/<host>)`
      this.ctx?.deadLetter({stage: `source:${this.name}`, reason, record, at: Date.now()})
      ack()
      return
    }
    let left = rows.length
    const rowAck = ack === NOOP_ACK ? NOOP_ACK : () => {
      if (--left === 0) ack()
    }
    for (const row of rows) this.inbox.push({record: {...record, fields: row, meta: {...record.meta}}, ack: rowAck})
  }

  private ackFor(packet: IPublishPacket, sendPacket: SendPacket): () => void {
    if (packet.qos !== 1 || packet.messageId === undefined) return NOOP_ACK
    const id = packet.messageId
    const entry: PendingAck = {held: false, acked: false, generation: this.generation}
    this.pending.set(id, entry)
    return () => {
      if (entry.acked) return
      entry.acked = true
      // A PUBACK for a connection that is gone would confuse the new session; the broker resends the message.
      if (!entry.held || entry.generation !== this.generation || !this.client?.connected) return
      if (this.pending.get(id) === entry) this.pending.delete(id)
      sendPacket({cmd: 'puback', messageId: id})
    }
  }
}

const INVALID = Symbol('invalid')

const utf8 = new TextDecoder('utf-8', {fatal: true})

/** Decodes a payload as the source's `payload` option says; INVALID for json/csv that does not decode. */
export function decodePayload(payload: Buffer, mode: MqttSourceOptions['payload'], csvColumns?: readonly string[]): unknown {
  switch (mode) {
    case 'raw':
      return undefined
    case 'json':
      try {
        return JSON.parse(payload.toString('utf8'))
      } catch {
        return INVALID
      }
    case 'auto': {
      let text: string
      try {
        text = utf8.decode(payload)
      } catch {
        return undefined
      }
      const first = text.trimStart()[0]
      if (first === '{' || first === '[' || first === '"' || /^-?\d|^(true|false|null)\b/.test(text.trim())) {
        try {
          return JSON.parse(text)
        } catch {
          return text
        }
      }
      return text
    }
    case 'csv': {
      let text: string
      try {
        text = utf8.decode(payload)
      } catch {
        return INVALID
      }
      const cells = splitCsvLine(text.replace(/\r?\n$/, ''))
      if (cells === undefined) return INVALID
      if (!csvColumns) return cells.map(cellValue)
      if (cells.length !== csvColumns.length) return INVALID
      const out: Record<string, unknown> = {}
      csvColumns.forEach((c, i) => (out[c] = cellValue(cells[i])))
      return out
    }
  }
}

/** One CSV line (RFC 4180 quoting); undefined when a quote is left open. */
export function splitCsvLine(line: string): string[] | undefined {
  const out: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"') {
        if (line[i + 1] === '"') {
          cell += '"'
          i++
        } else quoted = false
      } else cell += ch
    } else if (ch === '"' && cell === '') quoted = true
    else if (ch === ',') {
      out.push(cell)
      cell = ''
    } else cell += ch
  }
  if (quoted) return undefined
  out.push(cell)
  return out
}
