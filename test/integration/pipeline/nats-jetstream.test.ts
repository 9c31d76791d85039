/**
 * The nats source and sink against a private nats-server with JetStream (OS-assigned port, its own store dir):
 * JetStream -> rule -> JetStream with explicit acks (the consumer's pending and ack-pending counts return to 0 and
 * every input's row is stored once), the sink's msgId deduplication, and a row the subject template cannot name
 * dead-lettered.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connect, type NatsConnection} from '@nats-io/transport-node'
import {jetstream, jetstreamManager, type JetStreamManager} from '@nats-io/jetstream'
import {loadPipeline, runPipeline} from '../../../src/pipeline/index.js'
import {natsServerBinary, startNatsServer, streamMessages, type NatsServer} from '../../helpers/nats-server.js'
import {describeWithBinary} from '../../helpers/needs-binary.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-sinks-nats-'))

describeWithBinary('nats jetstream source and sink', {name: 'nats-server', path: natsServerBinary(), install: 'apt-get install nats-server'}, () => {
  let server: NatsServer
  let nc: NatsConnection
  let jsm: JetStreamManager
  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({servers: server.url})
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    await nc?.close()
    await server?.stop()
  })

  it('JetStream -> rule -> JetStream: acked after the sink stored the row, pending returns to 0', async () => {
    await jsm.streams.add({name: 'SINKS_IN1', subjects: ['in1.>']})
    const js = jetstream(nc)
    const N = 2000
    for (let seq = 0; seq < N; seq++) await js.publish(`in1.d${seq % 5}`, JSON.stringify({deviceId: `d${seq % 5}`, seq, temp: seq % 50}))
    await js.publish('in1.d0', '{not json')
    const file = join(dir, 'relay.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  feed: {type: nats, url: ${server.url}, stream: SINKS_IN1, consumer: relay, ackWait: 5s}
rules:
  - name: hot
    sql: SELECT deviceId, seq, temp FROM feed WHERE temp >= 25
    sinks:
      - type: nats
        url: ${server.url}
        subject: out1.\${deviceId}
        msgId: \${seq}
        stream: SINKS_OUT1
        createStream: {subjects: [out1.>], storage: memory}
`,
    )
    const stop = new AbortController()
    const run = runPipeline({pipeline: loadPipeline(file), signal: stop.signal, deadLetterFile: null, warn: () => {}})
    await expect.poll(async () => (await jsm.streams.info('SINKS_OUT1').catch(() => null))?.state.messages ?? 0, {timeout: 20_000, interval: 100}).toBe(N / 2)
    await expect
      .poll(async () => {
        const c = await jsm.consumers.info('SINKS_IN1', 'relay')
        return [c.num_pending, c.num_ack_pending]
      }, {timeout: 20_000, interval: 100})
      .toEqual([0, 0])
    stop.abort()
    const summary = await run
    expect(summary.eventsIn).toBe(N)
    expect(summary.sources[0].deadLettered).toBe(1)
    expect(summary.sinks[0].written).toBe(N / 2)
    const out = await streamMessages(jsm, 'SINKS_OUT1')
    const seqs = out.map((m) => m.data.seq as number).sort((a, b) => a - b)
    expect(seqs).toEqual(Array.from({length: N}, (_, i) => i).filter((i) => i % 50 >= 25))
    expect(out.every((m) => m.subject === `out1.${m.data.deviceId as string}`)).toBe(true)

    // The same input again through a new consumer: every msgId is a duplicate within the window, nothing is added.
    writeFileSync(file, readReplace(file, 'consumer: relay', 'consumer: relay2'))
    const again = new AbortController()
    const second = runPipeline({pipeline: loadPipeline(file), signal: again.signal, deadLetterFile: null, warn: () => {}})
    await expect.poll(async () => (await jsm.consumers.info('SINKS_IN1', 'relay2').catch(() => null))?.num_ack_pending ?? -1, {timeout: 20_000, interval: 100}).toBe(0)
    await expect.poll(async () => (await jsm.consumers.info('SINKS_IN1', 'relay2')).num_pending, {timeout: 20_000, interval: 100}).toBe(0)
    again.abort()
    const s2 = await second
    expect(s2.sinks[0].written).toBe(N / 2)
    expect((await jsm.streams.info('SINKS_OUT1')).state.messages).toBe(N / 2)
  })

  it('dead-letters a row whose subject template names a missing column; the rest is stored', async () => {
    await jsm.streams.add({name: 'SINKS_IN2', subjects: ['in2.>']})
    const js = jetstream(nc)
    for (let i = 0; i < 10; i++) await js.publish('in2.x', JSON.stringify(i === 4 ? {seq: i} : {seq: i, site: 's1'}))
    const file = join(dir, 'subject.yaml')
    writeFileSync(
      file,
      `version: 1
sources:
  feed: {type: nats, url: ${server.url}, stream: SINKS_IN2, consumer: c}
rules:
  - sql: SELECT * FROM feed
    sinks:
      - {type: nats, url: ${server.url}, subject: 'out2.\${site}', stream: SINKS_OUT2, createStream: {subjects: [out2.>]}, batch: {count: 100, interval: 20ms}}
`,
    )
    const stop = new AbortController()
    const run = runPipeline({pipeline: loadPipeline(file), signal: stop.signal, deadLetterFile: null, warn: () => {}})
    await expect.poll(async () => (await jsm.consumers.info('SINKS_IN2', 'c').catch(() => null))?.num_ack_pending ?? -1, {timeout: 20_000, interval: 100}).toBe(0)
    await expect.poll(async () => (await jsm.streams.info('SINKS_OUT2').catch(() => null))?.state.messages ?? 0, {timeout: 20_000, interval: 100}).toBe(9)
    stop.abort()
    const summary = await run
    expect(summary.sinks[0].deadLettered).toBe(1)
    expect(summary.sinks[0].written).toBe(9)
  })
})

function readReplace(file: string, from: string, to: string): string {
  return readFileSync(file, 'utf8').replace(from, to)
}
