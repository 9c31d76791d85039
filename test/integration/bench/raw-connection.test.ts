import type {Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {benchNowMicros, readHeaderInto, type LatencyHeader} from '../../../src/bench/latency-header.js'
import type {MqttProtocolVersion, QoS} from '../../../src/net/mqtt-wire.js'
import {AckReader, buildPublishBatch, patchFrame, patchPacketId} from '../../../src/bench/publish-frame.js'
import {PublishReader, type PublishHandler} from '../../../src/net/publish-reader.js'
import {openRawConnection, PubackWriter, subscribeRaw} from '../../../src/net/raw-mqtt-connection.js'
import {IotdError} from '../../../src/errors.js'
import {MqttConnectError} from '../../../src/net/connect-errors.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'
import {freePort} from '../../helpers/ports.js'

/** The broker's limit on unacknowledged QoS 1 deliveries per client: the tests send several times as many. */
const MAX_INFLIGHT = 20
const MESSAGES = MAX_INFLIGHT * 6

async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

interface Received {
  publisher: number
  seq: number
  qos: QoS
  topic: string
}

/** A subscriber on a raw connection; `ack: false` never sends PUBACK (the control case). */
async function subscriber(broker: Mosquitto, protocolVersion: MqttProtocolVersion, filter: string, qos: QoS, ack: boolean) {
  const socket = await openRawConnection({host: broker.host, port: broker.port, clientId: `iotd-raw-sub-${filter}-${ack}`, protocolVersion})
  const reader = new PublishReader(protocolVersion)
  const acks = new PubackWriter(socket)
  const received: Received[] = []
  const header: LatencyHeader = {publisher: 0, seq: 0, intendedUs: 0, sentUs: 0}
  let notOurs = 0
  const onPublish: PublishHandler = (buf, payloadOffset, _payloadLength, q, packetId, topicOffset, topicLength) => {
    if (!readHeaderInto(buf, payloadOffset, header)) notOurs++
    else received.push({publisher: header.publisher, seq: header.seq, qos: q, topic: buf.toString('utf8', topicOffset, topicOffset + topicLength)})
    if (q === 1 && ack) acks.add(packetId)
  }
  const granted = await subscribeRaw(socket, reader, [{topic: filter, qos}], protocolVersion, onPublish)
  socket.on('data', (chunk: Buffer) => reader.push(chunk, onPublish))
  socket.resume()
  return {socket, received, acks, granted, notOurs: () => notOurs}
}

/**
 * Publishes `total` frames from a raw connection, `window` at a time: at QoS 1 the next window leaves only once
 * every PUBACK of the previous one is back (the broker's receive maximum is MAX_INFLIGHT under MQTT 5).
 */
async function publishFrames(broker: Mosquitto, protocolVersion: MqttProtocolVersion, topic: string, qos: QoS, publisher: number, total: number, window: number) {
  const socket = await openRawConnection({host: broker.host, port: broker.port, clientId: `iotd-raw-pub-${topic}`, protocolVersion})
  const acks = new AckReader()
  let acked = 0
  socket.on('data', (chunk: Buffer) => acks.push(chunk, () => acked++))
  socket.resume()
  const frames = buildPublishBatch({topic, qos, payloadBytes: 64, protocolVersion, publisher}, window)
  for (let sent = 0; sent < total; ) {
    const n = Math.min(window, total - sent)
    for (let i = 0; i < n; i++) {
      const now = benchNowMicros()
      patchFrame(frames, i * frames.frameBytes, sent + i, now, now)
      if (qos > 0) patchPacketId(frames, i * frames.frameBytes, sent + i + 1)
    }
    await new Promise<void>((resolve, reject) => socket.write(frames.buffer.subarray(0, n * frames.frameBytes), (err) => (err ? reject(err) : resolve())))
    sent += n
    if (qos > 0) await waitFor(() => acked === sent, `PUBACKs up to ${sent}`)
  }
  return {socket, acked: () => acked}
}

describeMosquitto('raw MQTT connections (bench) against mosquitto', () => {
  let broker: Mosquitto
  const sockets: Socket[] = []
  beforeAll(async () => {
    // clientid_prefixes: a client id not starting with iotd- is refused as not authorized (the CONNACK refusal case below).
    broker = await startMosquitto({extraConfig: [`max_inflight_messages ${MAX_INFLIGHT}`, 'clientid_prefixes iotd-']})
  })
  afterAll(async () => {
    for (const s of sockets) s.destroy()
    await broker?.stop()
  })

  describe.each([4, 5] as MqttProtocolVersion[])('MQTT %s', (protocolVersion) => {
    it.each([0, 1] as QoS[])('delivers QoS %s frames from a raw publisher: every header, in order', async (qos) => {
      const topic = `raw/${protocolVersion}/${qos}`
      const sub = await subscriber(broker, protocolVersion, `${topic}/#`, qos, true)
      sockets.push(sub.socket)
      expect(sub.granted).toEqual([qos])

      const pub = await publishFrames(broker, protocolVersion, `${topic}/x`, qos, 7, MESSAGES, qos === 0 ? MESSAGES : MAX_INFLIGHT)
      sockets.push(pub.socket)
      await waitFor(() => sub.received.length >= MESSAGES, `${MESSAGES} deliveries (got ${sub.received.length})`)

      expect(sub.notOurs()).toBe(0)
      expect(sub.received.map((r) => r.seq)).toEqual(Array.from({length: MESSAGES}, (_, i) => i))
      expect(new Set(sub.received.map((r) => `${r.publisher} ${r.qos} ${r.topic}`))).toEqual(new Set([`7 ${qos} ${topic}/x`]))
      if (qos === 1) {
        expect(pub.acked()).toBe(MESSAGES)
        // More than max_inflight_messages arrived: only possible because each delivery was acknowledged.
        await waitFor(() => sub.acks.sent === MESSAGES, 'every PUBACK written')
      }
    })
  })

  it('a QoS 1 subscriber that sends no PUBACK gets exactly max_inflight_messages (the control for the test above)', async () => {
    const sub = await subscriber(broker, 4, 'raw/noack/#', 1, false)
    sockets.push(sub.socket)
    const pub = await publishFrames(broker, 4, 'raw/noack/x', 1, 3, MESSAGES, MAX_INFLIGHT)
    sockets.push(pub.socket)
    await waitFor(() => sub.received.length >= MAX_INFLIGHT, `${MAX_INFLIGHT} deliveries`)
    // Nothing more may arrive: the pause is the time the broker would have had to send more, the behaviour under test.
    await new Promise((r) => setTimeout(r, 300))
    expect(sub.received).toHaveLength(MAX_INFLIGHT)
    expect(sub.acks.sent).toBe(0)
  })

  it('delivers a retained message that follows the SUBACK to the onPublish given to subscribeRaw', async () => {
    const pub = await openRawConnection({host: broker.host, port: broker.port, clientId: 'iotd-raw-retainer', protocolVersion: 5})
    sockets.push(pub)
    const retained = buildPublishBatch({topic: 'raw/retained', qos: 0, retain: true, payloadBytes: 40, protocolVersion: 5, publisher: 12}, 1)
    await new Promise<void>((resolve) => pub.write(retained.buffer, () => resolve()))
    // The broker handles one connection's packets in order: once it answers a PINGREQ sent after the PUBLISH, the
    // retained message is stored.
    const pong = new Promise<void>((resolve) => pub.on('data', (d: Buffer) => d.includes(0xd0) && resolve()))
    pub.resume()
    pub.write(Buffer.from([0xc0, 0x00]))
    await pong
    const sub = await subscriber(broker, 5, 'raw/retained', 0, true)
    sockets.push(sub.socket)
    await waitFor(() => sub.received.length === 1, 'the retained message')
    expect(sub.received[0]).toMatchObject({publisher: 12, seq: 0, topic: 'raw/retained'})
  })

  it.each([
    [4 as const, /refused the connection: not authorized \(code 5\)/],
    [5 as const, /refused the connection: not authorized \(code 135\)/],
  ])('MQTT %s: rejects a refused CONNECT with the reason (MqttConnectError, exit 1)', async (protocolVersion, reason) => {
    const err = await openRawConnection({host: broker.host, port: broker.port, clientId: 'not-ours', protocolVersion}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MqttConnectError)
    expect((err as MqttConnectError).exitCode).toBe(1)
    expect((err as MqttConnectError).reason).toBe('rejected')
    expect((err as Error).message).toMatch(reason)
  })

  it('rejects a CONNECT MQTT forbids before opening a socket (usage error)', async () => {
    const err = await openRawConnection({host: broker.host, port: broker.port, clientId: '', clean: false, protocolVersion: 4}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IotdError)
    expect((err as IotdError).exitCode).toBe(2)
  })

  it('rejects when nothing listens on the port', async () => {
    const port = await freePort(broker.host)
    const err = await openRawConnection({host: broker.host, port, clientId: 'nobody', protocolVersion: 4}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MqttConnectError)
    expect((err as MqttConnectError).reason).toBe('unreachable')
  })
})
