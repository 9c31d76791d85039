/**
 * `type: nats`: a durable pull consumer on a NATS JetStream stream. Each message is acknowledged (+ACK) when the
 * pipeline calls its Delivery.ack — after the sinks accepted what it contributed to, or once the input log holds it —
 * never on arrival, so a pipeline killed at any moment gets every unacknowledged message again from the stream
 * after the consumer's `ackWait`.
 *
 * Several pipeline processes on the same stream and consumer name split its messages between them (each message goes
 * to one of them), which is how a pipeline grows past one process; key the split by device (subjects per device and
 * windows keyed by device) so a window sees all of its key's events only when one process owns the key — see
 * docs/pipeline-reference.md.
 *
 * Backpressure: the server sends a consumer at most `maxAckPending` unacknowledged messages, so what this source
 * holds (queued here plus inside the pipeline) is bounded by it.
 */
import {z} from 'zod'
import {duration} from '../../config/units-schema.js'
import type {NatsConnection} from '@nats-io/transport-node'
import type {ConsumerMessages, JsMsg} from '@nats-io/jetstream'
import {checkedUrl} from '../../config/url-schema.js'
import {connectNats, ensureStream, parseNatsServers, isNotFound, jetStreamManager, redactServers} from '../../net/nats-connection.js'
import {arrivalNow, defineSource, type Delivery, type PipelineRecord, type Source, type StageContext} from '../types.js'
import {decodePayload} from './mqtt.js'
import {DeliveryInbox} from './delivery-inbox.js'

const natsName = z.string().regex(/^[A-Za-z0-9_-]+$/, 'a stream or consumer name is letters, digits, _ and -')

/** Options of `createStream:`, shared with the nats sink. */
export const createStreamOptions = z
  .strictObject({
    subjects: z.array(z.string().min(1)).min(1).meta({description: 'Subjects the stream stores (wildcards * and > allowed).'}),
    storage: z.enum(['file', 'memory']).default('file'),
    maxAge: duration().default(0).meta({description: 'Messages older than this are removed (0: kept until other limits).'}),
    duplicateWindow: duration({positive: true}).default(120_000).meta({description: 'A repeated Nats-Msg-Id within this window is stored once (default 2m).'}),
  })
  .meta({description: 'Create the stream when it does not exist (an existing stream is used as it is).'})

/** Connection options shared by the nats source and sink. */
export const natsConnectionShape = {
  url: checkedUrl(parseNatsServers).meta({description: 'nats://host:4222 (several comma-separated); credentials through userEnv/passwordEnv or tokenEnv.'}),
  userEnv: z.string().min(1).optional().meta({description: 'Environment variable holding the user name.'}),
  passwordEnv: z.string().min(1).optional().meta({description: 'Environment variable holding the password (never printed).'}),
  tokenEnv: z.string().min(1).optional().meta({description: 'Environment variable holding an auth token (never printed).'}),
}

/** Connects with the connection options of a nats source or sink; secrets are read from the environment here. */
export function connectFromOptions(o: {url: string; userEnv?: string; passwordEnv?: string; tokenEnv?: string}, name: string, env: Readonly<Record<string, string | undefined>>): Promise<NatsConnection> {
  return connectNats({
    servers: o.url,
    name: `iotd-${name}-${process.pid}`,
    user: o.userEnv ? env[o.userEnv] : undefined,
    pass: o.passwordEnv ? env[o.passwordEnv] : undefined,
    token: o.tokenEnv ? env[o.tokenEnv] : undefined,
  })
}

const options = z.strictObject({
  ...natsConnectionShape,
  stream: natsName.meta({description: 'The JetStream stream to read.'}),
  consumer: natsName.meta({description: 'Durable consumer name; pipeline processes sharing it split the stream\'s messages.'}),
  filterSubject: z.string().min(1).optional().meta({description: 'Only messages on this subject (wildcards allowed), when the consumer is created.'}),
  deliver: z.enum(['all', 'new', 'last']).default('all').meta({description: 'Where a new consumer starts: all stored messages, only new ones, or the last one.'}),
  ackWait: duration({positive: true}).default(30_000).meta({description: 'A message not acknowledged within this long is delivered again (when the consumer is created). Keep it above the longest window a message waits in.'}),
  maxAckPending: z.number().int().min(1).max(1_000_000).default(20_000).meta({description: 'Unacknowledged messages the server lets the consumer hold (bounds memory; when the consumer is created).'}),
  createConsumer: z.boolean().default(true).meta({description: 'Create the durable consumer (explicit acks) when it does not exist.'}),
  createStream: createStreamOptions.optional(),
  payload: z.enum(['auto', 'json', 'csv', 'raw']).default('json').meta({description: 'Payload decoding: json (invalid JSON is dead-lettered), csv, raw (bytes only), auto.'}),
  csvColumns: z.array(z.string()).optional().meta({description: 'payload: csv -> names of the columns.'}),
  pull: z.number().int().min(1).max(10_000).default(1000).meta({description: 'Messages asked for per pull request.'}),
})

type Options = z.output<typeof options>

export const natsSource = defineSource({
  type: 'nats',
  summary: 'A durable JetStream pull consumer: explicit acks after the pipeline is done with a message, shared by replicas.',
  options,
  example: {type: 'nats', url: 'nats://127.0.0.1:4222', stream: 'TELEMETRY', consumer: 'rollup', filterSubject: 'plant.>', timestamp: 'ts', key: 'deviceId'},
  create: (opts: Options, name, env) => new NatsSource(name, opts, env.env),
})

export interface NatsSourceStats {
  received: number
  redelivered: number
  acked: number
  invalid: number
}

export class NatsSource implements Source {
  readonly stats: NatsSourceStats = {received: 0, redelivered: 0, acked: 0, invalid: 0}
  private nc: NatsConnection | undefined
  private messages: ConsumerMessages | undefined
  private readonly inbox = new DeliveryInbox()
  private closing = false
  private ctx: StageContext | undefined

  constructor(
    readonly name: string,
    private readonly o: Options,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {}

  async *read(ctx: StageContext): AsyncIterable<Delivery> {
    for await (const batch of this.readBatches(ctx)) yield* batch
  }

  async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
    this.ctx = ctx
    await this.start()
    yield* this.inbox.batches(ctx.signal, () => this.closing)
  }

  private async start(): Promise<void> {
    const o = this.o
    const where = `nats ${redactServers(o.url)} stream ${o.stream}`
    this.nc = await connectFromOptions(o, this.name, this.env)
    const {jetstream, AckPolicy, DeliverPolicy} = await import('@nats-io/jetstream')
    const jsm = await jetStreamManager(this.nc)
    if (o.createStream) {
      const c = o.createStream
      await ensureStream(jsm, {name: o.stream, subjects: c.subjects, storage: c.storage, maxAgeMs: c.maxAge, duplicateWindowMs: c.duplicateWindow})
    }
    try {
      await jsm.consumers.info(o.stream, o.consumer)
    } catch (error) {
      if (!isNotFound(error)) throw new Error(`${where}: ${(error as Error).message}`)
      if (!o.createConsumer) throw new Error(`${where}: consumer ${o.consumer} does not exist (createConsumer: false)`)
      const deliver = {all: DeliverPolicy.All, new: DeliverPolicy.New, last: DeliverPolicy.Last}[o.deliver]
      try {
        await jsm.consumers.add(o.stream, {
          durable_name: o.consumer,
          ack_policy: AckPolicy.Explicit,
          ack_wait: o.ackWait * 1_000_000,
          max_ack_pending: o.maxAckPending,
          deliver_policy: deliver,
          ...(o.filterSubject ? {filter_subject: o.filterSubject} : {}),
        })
      } catch (e) {
        // Another replica created it at the same moment: use theirs.
        if (!/already (exists|in use)/i.test((e as Error).message)) throw new Error(`${where}: creating consumer ${o.consumer}: ${(e as Error).message}`)
      }
    }
    const consumer = await jetstream(this.nc).consumers.get(o.stream, o.consumer)
    this.messages = await consumer.consume({
      max_messages: Math.min(o.pull, o.maxAckPending),
      callback: (m) => this.accept(m),
    })
    // A consumer or stream deleted under a running pipeline is fatal; the rest (heartbeats, discards) is routine.
    void (async () => {
      for await (const s of this.messages!.status()) {
        if (s.type === 'consumer_deleted' || (s.type === 'consumer_not_found' && s.count >= 3) || (s.type === 'stream_not_found')) {
          this.inbox.fail(new Error(`${where}: ${s.type.replace(/_/g, ' ')} (consumer ${o.consumer})`))
        }
      }
    })().catch(() => undefined)
  }

  private accept(m: JsMsg): void {
    this.stats.received++
    if (m.redelivered) this.stats.redelivered++
    const payload = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength)
    const arrivedAt = arrivalNow()
    const seq = m.seq
    const record: PipelineRecord = {
      // Processing time by default; `timestamp:` on the source reads event time from the payload.
      ts: Date.now(),
      topic: m.subject,
      payload,
      meta: {source: this.name, topic: m.subject, messageid: seq, position: `${this.o.stream} seq ${seq}`, arrivedAt},
    }
    let acked = false
    const ack = (): void => {
      if (acked) return
      acked = true
      this.stats.acked++
      m.ack()
    }
    const decoded = decodePayload(payload, this.o.payload, this.o.csvColumns)
    if (typeof decoded === 'symbol') {
      this.stats.invalid++
      this.ctx?.deadLetter({stage: `source:${this.name}`, reason: `payload of ${this.o.stream} seq ${seq} (${m.subject}) is not valid ${this.o.payload === 'csv' ? 'CSV' : 'JSON'}`, record, at: Date.now()})
      ack()
      return
    }
    if (decoded !== undefined) record.fields = decoded
    this.inbox.push({record, ack})
  }

  /** Messages handed over but not yet acknowledged by the pipeline. */
  get unacked(): number {
    return this.stats.received - this.stats.acked
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    this.inbox.nudge()
    await this.messages?.close().catch(() => undefined)
    const nc = this.nc
    this.nc = undefined
    // Acks are sent without waiting: flush them before the connection goes (drain would also wait for pulls).
    if (nc) {
      await nc.flush().catch(() => undefined)
      await nc.close().catch(() => undefined)
    }
  }
}
