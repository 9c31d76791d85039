/**
 * `type: nats`: publishes each row to NATS JetStream and resolves a batch once the stream has acknowledged every
 * message of it (PubAck), so a row counts as written only when it is stored. The subject is a template over the
 * row (`plant.${site}.${deviceId}`); `msgId:` (a template too) sets Nats-Msg-Id, and the stream stores a repeated id
 * within its duplicate window once: a window row that a restarted pipeline computes again is then stored once.
 *
 * A lost connection, a timeout or "no responders" (the stream's server is away) are transient: the sink runner
 * retries the batch with backoff (messages already stored are dropped as duplicates when they carry a msgId).
 * A subject no stream takes, or a row the template cannot name, is refused for good (the dead letter).
 */
import {z} from 'zod'
import type {NatsConnection} from '@nats-io/transport-node'
import type {JetStreamClient} from '@nats-io/jetstream'
import {ensureStream, jetStreamManager, redactServers} from '../../net/nats-connection.js'
import {compileRecordTemplate} from '../record-template.js'
import {connectFromOptions, createStreamOptions, natsConnectionShape} from '../sources/nats.js'
import {defineSink, TransientSinkError, type PipelineRecord, type Sink} from '../types.js'
import {duration} from '../../config/units-schema.js'

const options = z.strictObject({
  ...natsConnectionShape,
  subject: z.string().min(1).meta({description: 'Subject template: ${field.path} from the row, ${topic}, ${key}; e.g. alerts.${deviceId}.'}),
  msgId: z.string().min(1).optional().meta({description: 'Nats-Msg-Id template (e.g. ${deviceId}-${window_end}): the stream stores a repeated id once within its duplicate window.'}),
  stream: z.string().regex(/^[A-Za-z0-9_-]+$/).optional().meta({description: 'Expected stream: a message stored elsewhere is refused (and the stream createStream makes).'}),
  createStream: createStreamOptions.optional(),
  timeout: duration({positive: true}).default(5000).meta({description: 'How long to wait for a PubAck.'}),
})

type Options = z.output<typeof options>

/** A subject to publish on: tokens separated by dots, none empty, no wildcards or whitespace. */
export function isPublishSubject(s: string): boolean {
  return s.length > 0 && !/[\s*>]/.test(s) && !s.startsWith('.') && !s.endsWith('.') && !s.includes('..')
}

export const natsSink = defineSink({
  type: 'nats',
  summary: 'Publishes rows to NATS JetStream (subject template, Nats-Msg-Id deduplication, optional stream creation); written = stored.',
  options,
  batch: {count: 1024, intervalMs: 0},
  example: {type: 'nats', url: 'nats://127.0.0.1:4222', subject: 'rollup.${deviceId}', msgId: '${deviceId}-${window_end}', stream: 'ROLLUP', createStream: {subjects: ['rollup.>']}},
  destination(opts: Options) {
    const subjectOf = compileRecordTemplate(opts.subject, isPublishSubject)
    return (r) => ({subject: subjectOf(r) ?? null})
  },
  create: (opts: Options, name, env) => new NatsSink(name, opts, env.env),
})

export class NatsSink implements Sink {
  private nc: NatsConnection | undefined
  private js: JetStreamClient | undefined
  private readonly subjectOf: (r: PipelineRecord) => string | undefined
  private readonly msgIdOf?: (r: PipelineRecord) => string | undefined
  private readonly where: string

  constructor(
    readonly name: string,
    private readonly o: Options,
    private readonly env: Readonly<Record<string, string | undefined>>,
  ) {
    this.subjectOf = compileRecordTemplate(o.subject, isPublishSubject)
    if (o.msgId) this.msgIdOf = compileRecordTemplate(o.msgId, (s) => s.length > 0)
    this.where = `nats ${redactServers(o.url)}`
  }

  async open(): Promise<void> {
    const o = this.o
    this.nc = await connectFromOptions(o, this.name, this.env)
    if (o.createStream) {
      if (!o.stream) throw new Error(`sink ${this.name}: createStream needs stream: (the name of the stream to create)`)
      const c = o.createStream
      await ensureStream(await jetStreamManager(this.nc), {name: o.stream, subjects: c.subjects, storage: c.storage, maxAgeMs: c.maxAge, duplicateWindowMs: c.duplicateWindow})
    }
    const {jetstream} = await import('@nats-io/jetstream')
    this.js = jetstream(this.nc, {timeout: o.timeout})
  }

  /**
   * Every row of the batch is published at once and the batch resolves when all PubAcks are in: one round trip per
   * batch, not per row. The first failure decides: transient (retry the batch) or permanent (row by row, then the
   * dead letter for the rows that fail alone).
   */
  async write(batch: readonly PipelineRecord[]): Promise<void> {
    const js = this.js
    if (!js) throw new Error(`sink ${this.name}: write before open`)
    // Names first: a row the templates cannot name fails the batch before anything of it is published (the sink
    // runner then writes the rows one by one), so the others are not published twice.
    const subjects = new Array<string>(batch.length)
    const ids = this.msgIdOf ? new Array<string>(batch.length) : undefined
    for (let i = 0; i < batch.length; i++) {
      const subject = this.subjectOf(batch[i])
      if (subject === undefined) throw new Error(`${this.where}: no subject: the template ${this.o.subject} names a field the row does not have, or makes an invalid subject`)
      subjects[i] = subject
      if (ids) {
        const id = this.msgIdOf!(batch[i])
        if (id === undefined) throw new Error(`${this.where}: no msgId: the template ${this.o.msgId} names a field the row does not have`)
        ids[i] = id
      }
    }
    const expect = this.o.stream ? {expect: {streamName: this.o.stream}} : {}
    const pending: Promise<unknown>[] = new Array(batch.length)
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]
      const payload = r.payload ?? Buffer.from(typeof r.fields === 'string' ? r.fields : JSON.stringify(r.fields ?? null))
      pending[i] = js.publish(subjects[i], payload, ids ? {msgID: ids[i], ...expect} : expect)
    }
    const results = await Promise.allSettled(pending)
    const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected')
    if (!failed) return
    const e = failed.reason as Error & {code?: string}
    const text = `${this.where}: ${e.message}`
    // No responders (no stream takes the subject, or its server is away), timeouts and a lost connection may heal;
    // a wrong expected stream or a rejected message will not.
    if (/no responders|timeout|TIMEOUT|disconnect|closed|connection|503/i.test(`${e.message} ${e.code ?? ''}`)) throw new TransientSinkError(text, {cause: e})
    throw new Error(text, {cause: e})
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {
    const nc = this.nc
    this.nc = undefined
    this.js = undefined
    if (nc) await nc.close().catch(() => undefined)
  }
}
