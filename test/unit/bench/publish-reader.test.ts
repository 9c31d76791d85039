import mqttPacket, {type IPublishPacket, type Packet} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {type MqttProtocolVersion, type QoS} from '../../../src/net/mqtt-wire.js'
import {PACKET_TYPE, PublishReader} from '../../../src/net/publish-reader.js'
import {readVariableByteInteger, type VariableByteInteger} from '../../../src/net/mqtt-wire.js'
import {IotdError} from '../../../src/errors.js'
import {seededRandom} from '../../helpers/seeded-random.js'

/**
 * What one callback reported, in a shape comparable with mqtt-packet's parser output. Bytes as base64: vitest's
 * deep equality walks a Buffer byte by byte, which is far too slow for the thousands of comparisons below.
 */
type Seen =
  | {kind: 'publish'; topic: string; payload: string; qos: QoS; packetId: number; dup: boolean; retain: boolean}
  | {kind: 'other'; type: number; flags: number; body: string}

/** One generated packet: its bytes, and what mqtt-packet's own parser says they are. */
interface Sample {
  frame: Buffer
  packet: Packet
  /** Bytes after the fixed header (the body onOther should report). */
  body: Buffer
}

const TYPE_BY_CMD: Record<string, number> = PACKET_TYPE

function bodyOf(frame: Buffer): Buffer {
  let i = 1
  while (frame[i] & 0x80) i++
  return frame.subarray(i + 1)
}

/** Generates `packet` with mqtt-packet and parses it back with mqtt-packet's parser (the reference). */
function sample(packet: Packet, protocolVersion: MqttProtocolVersion): Sample {
  const frame = mqttPacket.generate(packet, {protocolVersion})
  const parser = mqttPacket.parser({protocolVersion})
  const parsed: Packet[] = []
  const errors: Error[] = []
  parser.on('packet', (p: Packet) => parsed.push(p))
  parser.on('error', (e: Error) => errors.push(e))
  parser.parse(frame)
  expect(errors).toEqual([])
  expect(parsed).toHaveLength(1)
  return {frame, packet: parsed[0], body: bodyOf(frame)}
}

function expected(s: Sample): Seen {
  const p = s.packet
  if (p.cmd === 'publish') {
    return {
      kind: 'publish',
      topic: p.topic,
      payload: (Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload)).toString('base64'),
      qos: p.qos,
      packetId: p.messageId ?? 0,
      dup: p.dup,
      retain: p.retain,
    }
  }
  return {kind: 'other', type: TYPE_BY_CMD[p.cmd], flags: s.frame[0] & 0x0f, body: s.body.toString('base64')}
}

/** Feeds `chunks` to a fresh reader and returns every callback, copied (the views die with the call). */
function feed(protocolVersion: MqttProtocolVersion, chunks: Iterable<Buffer>): {seen: Seen[]; reader: PublishReader} {
  const reader = new PublishReader(protocolVersion)
  const seen: Seen[] = []
  const onPublish = (buf: Buffer, payloadOffset: number, payloadLength: number, qos: QoS, packetId: number, topicOffset: number, topicLength: number, dup: boolean, retain: boolean): void => {
    seen.push({
      kind: 'publish',
      topic: buf.toString('utf8', topicOffset, topicOffset + topicLength),
      payload: buf.toString('base64', payloadOffset, payloadOffset + payloadLength),
      qos,
      packetId,
      dup,
      retain,
    })
  }
  const onOther = (type: number, flags: number, body: Buffer): void => {
    seen.push({kind: 'other', type, flags, body: body.toString('base64')})
  }
  for (const chunk of chunks) reader.push(chunk, onPublish, onOther)
  return {seen, reader}
}

function* bytewise(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1)
}

function payloadOfSize(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff
  return b
}

const SIZES = [0, 1, 32, 100, 127, 128, 16_383, 16_384, 65_536]

/** PUBLISHes of both versions, every QoS, with and without MQTT 5 properties, payloads 0 B to 64 KiB. */
function publishSamples(protocolVersion: MqttProtocolVersion): Sample[] {
  const propertyVariants: Array<IPublishPacket['properties'] | undefined> =
    protocolVersion === 5
      ? [undefined, {topicAlias: 3}, {userProperties: {site: 'usine-7', tag: ['a', 'b']}, contentType: 'application/octet-stream', messageExpiryInterval: 60}]
      : [undefined]
  const out: Sample[] = []
  let n = 0
  for (const qos of [0, 1, 2] as QoS[])
    for (const properties of propertyVariants)
      for (const size of SIZES) {
        n++
        // A topic alias may stand for the topic: the topic is then empty.
        const topic = properties?.topicAlias !== undefined && n % 2 === 0 ? '' : n % 3 === 0 ? 'usine/capteur/température/°C' : `bench/${n}`
        const packet: IPublishPacket = {
          cmd: 'publish',
          topic,
          payload: payloadOfSize(size, n),
          qos,
          dup: qos > 0 && n % 2 === 1,
          retain: n % 4 === 0,
          ...(qos > 0 ? {messageId: (n * 2_731) % 65_535 + 1} : {}),
          ...(properties ? {properties} : {}),
        }
        out.push(sample(packet, protocolVersion))
      }
  return out
}

/** The other packets a subscriber sees: SUBACK, PINGRESP, PUBREL (QoS 2), DISCONNECT, and more. */
function otherSamples(protocolVersion: MqttProtocolVersion): Sample[] {
  const packets: Packet[] = [
    {cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false},
    {cmd: 'suback', messageId: 7, granted: [0, 1, 2, 128]},
    {cmd: 'pingresp'},
    {cmd: 'pubrel', messageId: 9},
    {cmd: 'unsuback', messageId: 11, granted: protocolVersion === 5 ? [0] : []},
    {cmd: 'puback', messageId: 300},
  ]
  if (protocolVersion === 5) {
    packets.push(
      {cmd: 'disconnect', reasonCode: 0x8b, properties: {reasonString: 'server shutting down'}},
      {cmd: 'suback', messageId: 8, granted: [1], properties: {reasonString: 'ok', userProperties: {k: 'v'}}},
    )
  } else {
    packets.push({cmd: 'disconnect'})
  }
  return packets.map((p) => sample(p, protocolVersion))
}

describe.each([4, 5] as MqttProtocolVersion[])('PublishReader, MQTT %s', (protocolVersion) => {
  const publishes = publishSamples(protocolVersion)
  const others = otherSamples(protocolVersion)
  // Interleave the other packets between the PUBLISHes, as a subscriber's stream would carry them.
  const all: Sample[] = []
  publishes.forEach((s, i) => {
    all.push(s)
    if (i % 4 === 0) all.push(others[(i / 4) % others.length])
  })
  all.push(...others)
  const stream = Buffer.concat(all.map((s) => s.frame))
  const want = all.map(expected)

  it('reports each packet as mqtt-packet parses it (one chunk per packet)', () => {
    expect(publishes.length).toBeGreaterThanOrEqual(protocolVersion === 5 ? 81 : 27)
    const {seen, reader} = feed(protocolVersion, all.map((s) => s.frame))
    expect(seen).toEqual(want)
    expect(reader.buffered).toBe(0)
  })

  it('reads many packets from one chunk', () => {
    const {seen, reader} = feed(protocolVersion, [stream])
    expect(seen).toEqual(want)
    expect(reader.buffered).toBe(0)
  })

  it('reads the stream one byte at a time', () => {
    const {seen, reader} = feed(protocolVersion, bytewise(stream))
    expect(seen).toEqual(want)
    expect(reader.buffered).toBe(0)
  })

  it('reads the stream in random chunks', () => {
    const random = seededRandom(protocolVersion)
    const chunks: Buffer[] = []
    for (let at = 0; at < stream.length; ) {
      const len = 1 + Math.floor(random() * (random() < 0.5 ? 16 : 40_000))
      chunks.push(stream.subarray(at, at + len))
      at += len
    }
    expect(feed(protocolVersion, chunks).seen).toEqual(want)
  })

  it('reads a packet split at any byte, after a complete packet in the same chunk', () => {
    const lead = others.find((s) => s.packet.cmd === 'pingresp') as Sample
    let splits = 0
    for (const s of all) {
      const frame = s.frame
      // Every boundary of frames up to 1 KiB; for larger ones every boundary around the headers and the end, and a stride between.
      const points: number[] = []
      for (let k = 0; k <= frame.length; k++) {
        if (frame.length <= 1024 || k < 40 || k > frame.length - 40 || k % 4093 === 0) points.push(k)
      }
      for (const k of points) {
        const first = Buffer.concat([lead.frame, frame.subarray(0, k)])
        const {seen, reader} = feed(protocolVersion, [first, frame.subarray(k)])
        expect(seen).toEqual([expected(lead), expected(s)])
        expect(reader.buffered).toBe(0)
        splits++
      }
    }
    expect(splits).toBeGreaterThan(2_000)
  })

  it('holds back only the unfinished tail', () => {
    const big = publishes.find((s) => s.frame.length > 65_536) as Sample
    const reader = new PublishReader(protocolVersion)
    let publishesSeen = 0
    reader.push(big.frame.subarray(0, 1000), () => publishesSeen++)
    expect(reader.buffered).toBe(1000)
    reader.push(big.frame.subarray(1000, big.frame.length - 1), () => publishesSeen++)
    expect(reader.buffered).toBe(big.frame.length - 1)
    expect(publishesSeen).toBe(0)
    reader.push(big.frame.subarray(big.frame.length - 1), () => publishesSeen++)
    expect(publishesSeen).toBe(1)
    expect(reader.buffered).toBe(0)
  })

  it('skips other packets when no onOther is given', () => {
    const reader = new PublishReader(protocolVersion)
    let n = 0
    reader.push(stream, () => n++)
    expect(n).toBe(publishes.length)
  })
})

describe('PublishReader, MQTT 5 properties', () => {
  it('exposes the properties of the PUBLISH being delivered, and only during the call', () => {
    const s = sample({cmd: 'publish', topic: '', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 5, properties: {topicAlias: 513}}, 5)
    const reader = new PublishReader(5)
    const props: number[][] = []
    reader.push(s.frame, (buf) => {
      props.push([...buf.subarray(reader.propertiesOffset, reader.propertiesOffset + reader.propertiesLength)])
    })
    // Topic Alias is property 0x23 with a two-byte value.
    expect(props).toEqual([[0x23, 0x02, 0x01]])
    expect(reader.propertiesOffset).toBe(-1)
  })

  it('skips a property list whose length takes two varint bytes', () => {
    const userProperties = {note: 'n'.repeat(300)}
    const s = sample({cmd: 'publish', topic: 't', payload: Buffer.from('payload'), qos: 0, dup: false, retain: false, properties: {userProperties}}, 5)
    const {seen} = feed(5, [s.frame])
    expect(seen).toEqual([expected(s)])
    expect(seen[0]).toMatchObject({kind: 'publish', payload: Buffer.from('payload').toString('base64')})
  })
})

describe('PublishReader, malformed input', () => {
  const ignore = (): void => undefined
  const cases: Array<[string, MqttProtocolVersion, number[]]> = [
    ['a remaining length over 4 bytes (more than 268,435,455)', 4, [0x30, 0xff, 0xff, 0xff, 0xff, 0x01]],
    ['QoS bits 11', 4, [0x36, 0x04, 0x00, 0x01, 0x74, 0x00]],
    ['a topic longer than the packet', 4, [0x30, 0x03, 0x00, 0x05, 0x74]],
    ['no room for the topic length', 4, [0x30, 0x01, 0x00]],
    ['a packet id past the end', 4, [0x32, 0x04, 0x00, 0x01, 0x74, 0x00]],
    ['a property length past the end', 5, [0x30, 0x05, 0x00, 0x01, 0x74, 0x05, 0x23]],
    ['a property length varint over 4 bytes', 5, [0x30, 0x09, 0x00, 0x01, 0x74, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]],
    ['a property length varint cut by the packet end', 5, [0x30, 0x04, 0x00, 0x01, 0x74, 0x80]],
    ['reserved packet type 0', 4, [0x00, 0x00]],
  ]
  it.each(cases)('throws an IotdError on %s', (_name, protocolVersion, bytes) => {
    expect(() => new PublishReader(protocolVersion).push(Buffer.from(bytes), ignore, ignore)).toThrow(IotdError)
  })

  it('throws on an over-long remaining length even when it arrives byte by byte', () => {
    const reader = new PublishReader(4)
    const bytes = [0x30, 0x80, 0x80, 0x80]
    for (const b of bytes) reader.push(Buffer.from([b]), ignore)
    expect(() => reader.push(Buffer.from([0x80]), ignore)).toThrow(/longer than 4 bytes/)
  })

  it('accepts the largest remaining length and waits for its bytes', () => {
    const reader = new PublishReader(4)
    reader.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01]), ignore)
    expect(reader.buffered).toBe(7)
  })
})

describe('readVariableByteInteger', () => {
  it('reads 1- to 4-byte values and rejects a fifth byte', () => {
    const out: VariableByteInteger = {value: 0, bytes: 0}
    const read = (bytes: number[]): [number, number] => {
      readVariableByteInteger(Buffer.from(bytes), 0, bytes.length, out)
      return [out.value, out.bytes]
    }
    expect(read([0x00])).toEqual([0, 1])
    expect(read([0x7f])).toEqual([127, 1])
    expect(read([0x80, 0x01])).toEqual([128, 2])
    expect(read([0xff, 0x7f])).toEqual([16_383, 2])
    expect(read([0x80, 0x80, 0x01])).toEqual([16_384, 3])
    expect(read([0xff, 0xff, 0xff, 0x7f])).toEqual([268_435_455, 4])
    expect(() => read([0xff, 0xff, 0xff, 0xff, 0x7f])).toThrow(IotdError)
  })
})
