/**
 * `mqtt` sink: publishes each record. Topic from a template over the record (`alerts/${deviceId}`, `${topic}` for
 * the record's own topic), QoS and retain from the options or, when absent, from the record (so a replay keeps
 * what was recorded), MQTT 5 properties from the options and, with `forwardProperties`, from the record.
 *
 * write() publishes the whole batch in one synchronous loop and resolves when the socket has taken the QoS 0
 * messages and the QoS 1/2 ones are acknowledged. QoS 0 messages are encoded here and written in one piece per
 * batch (see publishAll), which is what lets a replay run at hundreds of thousands of messages a second.
 */
import type {Writable} from 'node:stream'
import type {IClientPublishOptions, MqttClient} from 'mqtt'
import {z} from 'zod'
import {DEFAULT_BACKOFF} from '../../net/backoff.js'
import type {ClientOptions} from '../../net/mqtt-connection.js'
import {parseEndpointUrl, redactUrl} from '../../net/mqtt-endpoint.js'
import {checkedUrl} from '../../config/url-schema.js'
import {isTopicName} from '../../net/topic-rules.js'
import {encodeQos0Publishes, type Qos0Message} from '../../net/qos0-publish.js'
import {compileRecordTemplate} from '../record-template.js'
import {defineSink, TransientSinkError, type PipelineRecord, type Sink, type StageContext} from '../types.js'
import {mqttProtocol} from '../../config/units-schema.js'
import {INSECURE_TLS_WARNING} from '../../net/tls-files.js'
import {mqttTlsOptions, resolveTlsFiles, tlsFileProblems, tlsOf, unparsedTlsFileProblems} from '../mqtt-tls.js'

const userProperties = z.record(z.string(), z.union([z.string(), z.array(z.string())]))

export const mqttSinkOptions = z
  .object({
    url: checkedUrl(parseEndpointUrl).describe('Broker URL: mqtt://, mqtts://, ws://, wss://.'),
    topic: z.string().min(1).default('${topic}').describe('Topic template: ${field.path} from the record fields, ${topic}, ${key}.'),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional().describe("QoS (default: the record's, else 0)."),
    retain: z.boolean().optional().describe("Retain flag (default: the record's, else false)."),
    protocol: mqttProtocol().default('3.1.1').describe('MQTT version: 3.1.1 or 5.'),
    clientId: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional().describe('Password (prefer passwordEnv).'),
    passwordEnv: z.string().optional().describe('Name of the environment variable holding the password.'),
    ...mqttTlsOptions,
    keepalive: z.number().int().min(0).default(60),
    properties: z
      .object({
        contentType: z.string().optional(),
        responseTopic: z.string().optional(),
        messageExpiryInterval: z.number().int().min(0).optional(),
        payloadFormatIndicator: z.boolean().optional(),
        userProperties: userProperties.optional(),
      })
      .strict()
      .optional()
      .describe('MQTT 5 publish properties added to every message.'),
    forwardProperties: z.boolean().default(true).describe("MQTT 5: publish the record's own properties (a recorded message's)."),
    connectAttempts: z.number().int().min(1).default(5),
  })
  .strict()

export type MqttSinkOptions = z.infer<typeof mqttSinkOptions>

export const mqttSink = defineSink<MqttSinkOptions>({
  type: 'mqtt',
  summary: 'Publishes records to an MQTT broker (topic template, QoS, retain, MQTT 5 properties).',
  options: mqttSinkOptions,
  // Whatever one source batch yields goes out together, at once: QoS 0 messages as one socket write (publishAll),
  // with no timer between a row and its publish.
  batch: {count: 1024, intervalMs: 0},
  example: {url: 'mqtt://127.0.0.1:1883', topic: 'alerts/${deviceId}', qos: 1},
  destination(options) {
    const topicOf = compileTopicTemplate(options.topic)
    return (r) => ({topic: topicOf(r) ?? null})
  },
  check: tlsFileProblems,
  checkUnparsed: unparsedTlsFileProblems,
  create: (options, name, env) => new MqttSink(name, {...resolveTlsFiles(options, env.baseDir), password: options.password ?? (options.passwordEnv ? env.env[options.passwordEnv] : undefined)}),
})

/** Properties a publisher may not set (the broker or the connection owns them). */
const NOT_FORWARDED = new Set(['topicAlias', 'subscriptionIdentifier'])

export interface MqttSinkStats {
  published: number
  bytes: number
  /** Records with no topic (template fields missing): dead-lettered. */
  noTopic: number
}

export class MqttSink implements Sink {
  readonly stats: MqttSinkStats = {published: 0, bytes: 0, noTopic: 0}
  private client: MqttClient | undefined
  private ctx: StageContext | undefined
  private readonly topicOf: (r: PipelineRecord) => string | undefined
  private readonly v5: boolean

  constructor(
    readonly name: string,
    private readonly options: MqttSinkOptions,
  ) {
    this.topicOf = compileTopicTemplate(options.topic)
    this.v5 = options.protocol === '5'
  }

  /** Whether a client is connected now: a write without one reconnects first (write()). */
  get connected(): boolean {
    return this.client?.connected === true
  }

  get broker(): string {
    return redactUrl(this.options.url)
  }

  async open(ctx: StageContext): Promise<void> {
    this.ctx = ctx
    if (this.client) return
    if (this.options.insecure) ctx.warn(`${this.name}: ${INSECURE_TLS_WARNING}`)
    this.client = await this.connect(this.options.connectAttempts, ctx.signal, ctx.warn)
  }

  private closing = false
  /** Failers of the writes in flight: a lost connection fails them at once (the runner retries them). */
  private readonly inFlight = new Set<(error: Error) => void>()
  private clientId?: string

  /** The one connection attempt that writes after a loss share (see write). */
  private connecting: Promise<MqttClient> | undefined

  /**
   * One attempt to connect again after the connection was lost, shared by the writes that ask meanwhile (a replay
   * has several in flight): its failure is transient, and the caller's retry (the pipeline runner's, replay's)
   * waits and asks again.
   */
  private reconnect(): Promise<MqttClient> {
    this.connecting ??= this.connect(1)
      .then(
        (client) => (this.client = client),
        (error: unknown) => {
          const message = (error as Error).message
          // The connect error names the broker already ('cannot connect to mqtt://…: connection refused').
          throw new TransientSinkError(`${this.name}: ${message.includes(this.broker) ? message : `cannot reach ${this.broker}: ${message}`}`, {cause: error})
        },
      )
      .finally(() => (this.connecting = undefined))
    return this.connecting
  }

  /** Connects; each failed attempt before the last is said through `warn`, as the mqtt source says its own. */
  private async connect(attempts: number, signal?: AbortSignal, warn?: (message: string) => void): Promise<MqttClient> {
    const o = this.options
    const clientOptions: ClientOptions = {
      url: o.url,
      protocol: o.protocol,
      username: o.username,
      password: o.password,
      clientId: (this.clientId ??= o.clientId ?? `iotd-pub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`),
      keepaliveSec: o.keepalive,
      tls: tlsOf(o),
    }
    // MQTT.js loads when a pipeline connects, not when a command merely validates or lists one.
    const {connectOnce, connectWithRetry, sayRetries} = await import('../../net/mqtt-connection.js')
    // A single attempt says why it failed (refused, unreachable), not that it 'gave up after 1 attempt'.
    const client =
      attempts <= 1
        ? await connectOnce(clientOptions)
        : await connectWithRetry(clientOptions, {
            ...DEFAULT_BACKOFF,
            attempts,
            signal,
            onRetry: sayRetries(this.name, attempts, warn),
          })
    // MQTT.js calls its `debug` logger several times per publish; when DEBUG does not ask for it, that is ~6% of a
    // --max-speed replay for nothing.
    if (!/mqttjs/.test(process.env.DEBUG ?? '')) (client as unknown as {log: (...args: unknown[]) => void}).log = () => {}
    client.on('close', () => this.lost(client))
    return client
  }

  /**
   * The connection is gone (broker stopped, killed, network): the client is dropped with its stores, the writes in
   * flight fail as transient, and the runner's retry (backoff, `retry: forever` by default) writes them again
   * through a new connection that the next write opens. A QoS 1 message the broker had taken before it went away
   * may so arrive twice (at-least-once); one the broker never acknowledged is never lost.
   */
  private lost(client: MqttClient): void {
    if (this.client !== client || this.closing) return
    this.client = undefined
    client.end(true)
    const error = new TransientSinkError(`${this.name}: lost the connection to ${this.broker}`)
    for (const fail of this.inFlight) fail(error)
    this.inFlight.clear()
  }

  /**
   * Brokers release a QoS 2 message to subscribers only when its PUBREL arrives, so a QoS 0/1 message published
   * right behind it on the same connection can overtake it. To keep the recorded order across QoS levels, a batch
   * is cut after a QoS 2 message that a different QoS follows, and the next part waits for its handshake.
   */
  async write(batch: readonly PipelineRecord[]): Promise<void> {
    if (!this.ctx) throw new Error(`${this.name}: write before open`)
    let client = this.client
    // A client that is no longer connected but has not said 'close' yet is dropped now: the writes in flight on it
    // fail (to be written again) instead of waiting for acknowledgements that cannot come.
    if (client && !client.connected) this.lost(client)
    if (!this.client) client = await this.reconnect()
    if (!client) throw new TransientSinkError(`${this.name}: not connected to ${this.broker}`)
    let from = 0
    for (let i = 0; i < batch.length; i++) {
      const q = this.qosOf(batch[i])
      if (q === 2 && i + 1 < batch.length && this.qosOf(batch[i + 1]) !== 2) {
        await this.publishAll(client, batch, from, i + 1)
        from = i + 1
      }
    }
    if (from < batch.length) await this.publishAll(client, batch, from, batch.length)
  }

  /**
   * Whether what follows `batch` must wait until its write() has resolved: a QoS 2 message is released to
   * subscribers at its PUBREL, so a message written right behind it, in this batch (write() then holds the rest
   * back itself) or in the next write, can overtake it. A caller that does not await every write awaits these.
   */
  ordersByHandshake(batch: readonly PipelineRecord[]): boolean {
    for (const r of batch) if (this.qosOf(r) === 2) return true
    return false
  }

  private qosOf(r: PipelineRecord): 0 | 1 | 2 {
    return this.options.qos ?? r.meta.qos ?? 0
  }

  /**
   * Publishes `batch[from..to)` in order. QoS 0 messages without MQTT 5 properties are encoded here, back to back,
   * and written in one piece (net/qos0-publish.ts: MQTT.js would take several times the CPU); the rest go through
   * MQTT.js, which keeps their QoS 1/2 state. Resolves once every QoS 1/2 message is acknowledged and the socket
   * took the bytes (after 'drain' when it pushed back, which is what paces a --max-speed replay).
   */
  private publishAll(client: MqttClient, batch: readonly PipelineRecord[], from: number, to: number): Promise<void> {
    const o = this.options
    const stream = client.stream as unknown as Writable
    return new Promise<void>((resolve, reject) => {
      // One hold for this loop, released at its end, so a callback that fires early cannot settle the promise.
      let outstanding = 1
      let failed: Error | undefined
      let settled = false
      const fail = (error: Error) => {
        if (settled) return
        settled = true
        this.inFlight.delete(fail)
        reject(error)
      }
      this.inFlight.add(fail)
      const done = (err?: Error) => {
        if (err) failed ??= err
        if (--outstanding === 0 && !settled) {
          settled = true
          this.inFlight.delete(fail)
          if (failed) reject(new TransientSinkError(`${this.name}: publish failed: ${failed.message}`, {cause: failed}))
          else resolve()
        }
      }
      const plain: Qos0Message[] = []
      const writePlain = () => {
        if (plain.length === 0) return
        stream.write(encodeQos0Publishes(plain, 0, plain.length, this.v5 ? 5 : 4))
        plain.length = 0
      }
      // MQTT.js writes a packet in several pieces: corked, they leave in one writev once this loop is done. The
      // packets encoded here are one piece already and need no cork.
      let corked = false
      for (let i = from; i < to; i++) {
        const r = batch[i]
        const topic = this.topicOf(r)
        if (topic === undefined) {
          this.stats.noTopic++
          this.ctx?.deadLetter({stage: `sink:${this.name}`, reason: `no topic: the template ${o.topic} names a field the record does not have`, record: r, at: Date.now()})
          continue
        }
        const payload = r.payload ?? Buffer.from(typeof r.fields === 'string' ? r.fields : JSON.stringify(r.fields ?? null))
        const qos = this.qosOf(r)
        const retain = o.retain ?? r.meta.retain ?? false
        const properties = this.v5 ? this.propertiesFor(r) : undefined
        this.stats.published++
        this.stats.bytes += payload.length
        if (qos === 0 && !properties) {
          plain.push({topic, payload, retain})
          continue
        }
        writePlain()
        if (!corked) {
          corked = true
          stream.cork?.()
        }
        const opts: IClientPublishOptions = {qos, retain}
        if (properties) opts.properties = properties
        outstanding++
        client.publish(topic, payload, opts, done)
      }
      writePlain()
      if (corked) stream.uncork?.()
      if (stream.writableNeedDrain) {
        outstanding++
        const settle = (err?: Error) => {
          stream.off('drain', onDrain)
          stream.off('close', onClose)
          done(err)
        }
        const onDrain = () => settle()
        const onClose = () => settle(new Error('the connection closed before the messages were written'))
        stream.on('drain', onDrain)
        stream.on('close', onClose)
      }
      done()
    })
  }

  private propertiesFor(r: PipelineRecord): IClientPublishOptions['properties'] | undefined {
    const fixed = this.options.properties
    const own = this.options.forwardProperties ? r.meta.properties : undefined
    if (!fixed && !own) return undefined
    const out: Record<string, unknown> = {}
    if (own) for (const [k, v] of Object.entries(own)) if (!NOT_FORWARDED.has(k)) out[k] = v
    if (fixed) Object.assign(out, fixed, fixed.userProperties && own?.userProperties ? {userProperties: {...(own.userProperties as object), ...fixed.userProperties}} : {})
    return out as IClientPublishOptions['properties']
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    this.closing = true
    const client = this.client
    this.client = undefined
    if (client) await new Promise<void>((resolve) => client.end(false, {}, () => resolve()))
  }
}

/**
 * `alerts/${deviceId}` -> a function of the record (pipeline/record-template.ts). Undefined when a named field is
 * missing or would make an invalid topic (empty, wildcard), so the record goes to the dead letter.
 */
export function compileTopicTemplate(template: string): (r: PipelineRecord) => string | undefined {
  return compileRecordTemplate(template, isTopicName)
}
