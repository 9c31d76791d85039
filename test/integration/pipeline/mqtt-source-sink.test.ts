/**
 * The mqtt source and sink against a real mosquitto: backpressure, PUBACK only on ack (redelivery of un-acked QoS 1
 * messages), MQTT 5 properties both ways, invalid JSON dead-lettered, shared subscriptions, topic templates.
 */
import type {MqttClient} from 'mqtt'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/mqtt-connection.js'
import {MqttSink, mqttSinkOptions} from '../../../src/pipeline/sinks/mqtt.js'
import {MqttSource, mqttSourceOptions, type MqttSourceOptions} from '../../../src/pipeline/sources/mqtt.js'
import {toolContext} from '../../../src/tools/context.js'
import type {Delivery} from '../../../src/pipeline/types.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

let broker: Mosquitto
let pub: MqttClient
const open: Array<{close(): Promise<void>}> = []

function source(options: Partial<MqttSourceOptions>) {
  const s = new MqttSource('s', mqttSourceOptions.parse({url: broker.url, ...options}))
  open.push(s)
  return s
}

/** Pulls deliveries until `n` arrived (or the timeout), without acking unless asked. */
async function take(s: MqttSource, n: number, opts: {ack?: boolean; timeoutMs?: number} = {}): Promise<{deliveries: Delivery[]; ctx: ReturnType<typeof toolContext>}> {
  const controller = new AbortController()
  const ctx = toolContext(controller.signal)
  const deliveries: Delivery[] = []
  const timer = setTimeout(() => controller.abort(), opts.timeoutMs ?? 5000)
  for await (const batch of s.readBatches(ctx)) {
    for (const d of batch) {
      deliveries.push(d)
      if (opts.ack !== false) d.ack()
    }
    if (deliveries.length >= n) break
  }
  clearTimeout(timer)
  return {deliveries, ctx}
}

describeMosquitto('mqtt source and sink against mosquitto', () => {
  beforeAll(async () => {
    broker = await startMosquitto()
    pub = await connectOnce({url: broker.url, clientId: 'pub', protocol: '5'})
  })
  afterAll(async () => {
    for (const o of open.splice(0)) await o.close().catch(() => {})
    pub?.end(true)
  })

  it('backpressure: a consumer that does not pull keeps at most queueSize messages, and nothing is lost', async () => {
    const s = source({topics: ['bp/#'], queueSize: 50, payload: 'raw'})
    await s.connect()
    const N = 3000
    for (let i = 0; i < N; i++) pub.publish('bp/x', Buffer.alloc(200, i % 256), {qos: 0})
    // The source pauses its socket once its queue is full; until someone pulls, it never holds more.
    await expect.poll(() => s.stats.pauses, {timeout: 10_000}).toBeGreaterThan(0)
    expect(s.queued).toBeLessThanOrEqual(50)
    const {deliveries} = await take(s, N)
    expect(deliveries).toHaveLength(N)
  })

  it('QoS 1: messages not acked are delivered again after a reconnect (persistent session); acked ones are not', async () => {
    const opts = {topics: ['acks/#'], qos: 1 as const, clean: false, clientId: 'acker', payload: 'raw' as const}
    const first = source(opts)
    await first.connect()
    for (let i = 0; i < 10; i++) await pub.publishAsync('acks/x', String(i), {qos: 1})
    const {deliveries} = await take(first, 10, {ack: false})
    expect(deliveries.map((d) => d.record.payload!.toString())).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    for (const d of deliveries.slice(0, 5)) d.ack()
    await new Promise((r) => setTimeout(r, 300))
    await first.close()
    const second = source(opts)
    const again = await take(second, 5, {timeoutMs: 5000})
    expect(again.deliveries.map((d) => d.record.payload!.toString())).toEqual(['5', '6', '7', '8', '9'])
  })

  it('MQTT 5: user properties and content type land in meta.properties; the sink publishes them on', async () => {
    const s = source({topics: ['v5in/#'], protocol: '5', payload: 'json'})
    await s.connect()
    const sink = new MqttSink('k', mqttSinkOptions.parse({url: broker.url, protocol: '5', topic: 'v5out/${device}', properties: {userProperties: {via: 'iotd'}}}))
    open.push(sink)
    await sink.open(toolContext(new AbortController().signal))
    const out = source({topics: ['v5out/#'], protocol: '5', payload: 'json'})
    await out.connect()
    await pub.publishAsync('v5in/a', JSON.stringify({device: 'd7', t: 1}), {qos: 0, properties: {contentType: 'application/json', userProperties: {site: 'north'}}})
    const {deliveries} = await take(s, 1)
    const rec = deliveries[0].record
    expect(rec.meta.properties).toMatchObject({contentType: 'application/json', userProperties: {site: 'north'}})
    expect(rec.fields).toEqual({device: 'd7', t: 1})
    await sink.write([rec])
    const forwarded = (await take(out, 1)).deliveries[0].record
    expect(forwarded.topic).toBe('v5out/d7')
    expect(forwarded.meta.properties).toMatchObject({contentType: 'application/json', userProperties: {site: 'north', via: 'iotd'}})
  })

  it('invalid JSON is counted and dead-lettered, the stream goes on', async () => {
    const s = source({topics: ['bad/#'], payload: 'json'})
    await s.connect()
    pub.publish('bad/x', '{"ok":1}')
    pub.publish('bad/x', '{not json')
    pub.publish('bad/x', '{"ok":2}')
    const {deliveries, ctx} = await take(s, 2)
    expect(deliveries.map((d) => d.record.fields)).toEqual([{ok: 1}, {ok: 2}])
    expect(s.stats.invalid).toBe(1)
    expect(ctx.firstDeadLetters[0].reason).toMatch(/bad\/x is not valid JSON/)
  })

  it('shared subscription: two sources in one group split the stream without duplicates', async () => {
    const a = source({topics: ['$share/g/shared/#'], payload: 'raw'})
    const b = source({topics: ['$share/g/shared/#'], payload: 'raw'})
    await Promise.all([a.connect(), b.connect()])
    for (let i = 0; i < 200; i++) pub.publish('shared/x', String(i))
    const seen: string[] = []
    const collect = async (s: MqttSource) => {
      const {deliveries} = await take(s, 200, {timeoutMs: 1500})
      for (const d of deliveries) seen.push(d.record.payload!.toString())
      return deliveries.length
    }
    const [na, nb] = await Promise.all([collect(a), collect(b)])
    expect(na).toBeGreaterThan(0)
    expect(nb).toBeGreaterThan(0)
    expect(new Set(seen).size).toBe(200)
    expect(seen).toHaveLength(200)
  })

  it('sink: a topic template naming a missing field dead-letters that record only', async () => {
    const sink = new MqttSink('k', mqttSinkOptions.parse({url: broker.url, topic: 'alerts/${deviceId}', qos: 1}))
    open.push(sink)
    const ctx = toolContext(new AbortController().signal)
    await sink.open(ctx)
    const out = source({topics: ['alerts/#'], payload: 'json'})
    await out.connect()
    const rec = (fields: unknown) => ({ts: Date.now(), fields, meta: {source: 't'}})
    await sink.write([rec({deviceId: 'a', v: 1}), rec({v: 2}), rec({deviceId: 'b', v: 3})])
    const got = (await take(out, 2)).deliveries.map((d) => [d.record.topic, d.record.fields])
    expect(got).toEqual([
      ['alerts/a', {deviceId: 'a', v: 1}],
      ['alerts/b', {deviceId: 'b', v: 3}],
    ])
    expect(sink.stats.noTopic).toBe(1)
    expect(ctx.firstDeadLetters[0].reason).toMatch(/no topic/)
  })
})
