import mqttPacket, {type IPublishPacket, type Packet} from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {HEADER_BYTES, readHeader} from '../../../src/bench/latency-header.js'
import {AckReader, buildPublishBatch, buildPublishFrame, patchFrame, patchPacketId, readAck, setDupFlag, type AckType, type PublishFrameSpec} from '../../../src/bench/publish-frame.js'
import {MAX_REMAINING_LENGTH, readFixedHeader, remainingLengthSize, writeRemainingLength, type FixedHeader, type MqttProtocolVersion, type QoS} from '../../../src/net/mqtt-wire.js'
import {UsageError} from '../../../src/errors.js'
import {seededRandom} from '../../helpers/seeded-random.js'

/** Every packet mqtt-packet's own parser finds in `buf`; fails the test on a parse error. */
function decodeAll(buf: Buffer, protocolVersion: MqttProtocolVersion): Packet[] {
  const parser = mqttPacket.parser({protocolVersion})
  const packets: Packet[] = []
  const errors: Error[] = []
  parser.on('packet', (p: Packet) => packets.push(p))
  parser.on('error', (e: Error) => errors.push(e))
  parser.parse(buf)
  expect(errors).toEqual([])
  return packets
}

function decodePublish(buf: Buffer, protocolVersion: MqttProtocolVersion): IPublishPacket {
  const packets = decodeAll(buf, protocolVersion)
  expect(packets).toHaveLength(1)
  expect(packets[0].cmd).toBe('publish')
  return packets[0] as IPublishPacket
}

function payloadOf(p: IPublishPacket): Buffer {
  return Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload)
}

const versions: MqttProtocolVersion[] = [4, 5]
const qoses: QoS[] = [0, 1, 2]
const topics = ['bench/1', 'usine/capteur/température/°C/🌡', `deep/${'x'.repeat(300)}`]
const sizes = [HEADER_BYTES, 100, 1000, 16 * 1024, 64 * 1024]

describe('buildPublishFrame', () => {
  it('produces frames mqtt-packet decodes, for both versions, every QoS, retain, UTF-8 topics and sizes up to 64 KiB', () => {
    let checked = 0
    for (const protocolVersion of versions)
      for (const qos of qoses)
        for (const retain of [false, true])
          for (const topic of topics)
            for (const payloadBytes of sizes) {
              const frame = buildPublishFrame({topic, qos, retain, payloadBytes, protocolVersion, publisher: 42})
              expect(frame.buffer.length).toBe(frame.frameBytes)
              const p = decodePublish(frame.buffer, protocolVersion)
              expect(p).toMatchObject({topic, qos, retain, dup: false})
              expect(p.messageId).toBe(qos > 0 ? 1 : undefined)
              const payload = payloadOf(p)
              expect(payload.length).toBe(payloadBytes)
              expect(readHeader(payload)).toEqual({publisher: 42, seq: 0, intendedUs: 0, sentUs: 0})
              expect(payload.subarray(HEADER_BYTES).every((b) => b === 0)).toBe(true)
              checked++
            }
    expect(checked).toBe(2 * 3 * 2 * 3 * 5)
  })

  it('is byte-identical to what mqtt-packet generates for the same PUBLISH', () => {
    for (const protocolVersion of versions)
      for (const qos of qoses) {
        const frame = buildPublishFrame({topic: 'a/ß/b', qos, retain: qos === 1, payloadBytes: 100, protocolVersion, publisher: 7})
        const payload = frame.buffer.subarray(frame.payloadOffset)
        const reference = mqttPacket.generate(
          {cmd: 'publish', topic: 'a/ß/b', payload, qos, retain: qos === 1, dup: false, ...(qos > 0 ? {messageId: 1} : {})},
          {protocolVersion},
        )
        expect(frame.buffer.equals(reference)).toBe(true)
      }
  })

  it('patched sequence, times, packet id and DUP decode as written', () => {
    for (const protocolVersion of versions)
      for (const qos of [1, 2] as const) {
        const frame = buildPublishFrame({topic: 't', qos, payloadBytes: 100, protocolVersion, publisher: 0xffff_ffff})
        const intended = 1_763_761_234_567_890
        patchFrame(frame, 0, 2 ** 33 + 5, intended, intended + 321.5)
        patchPacketId(frame, 0, 65_535)
        setDupFlag(frame, 0, true)
        let p = decodePublish(frame.buffer, protocolVersion)
        expect(p.messageId).toBe(65_535)
        expect(p.dup).toBe(true)
        expect(readHeader(payloadOf(p))).toEqual({publisher: 0xffff_ffff, seq: 2 ** 33 + 5, intendedUs: intended, sentUs: intended + 321})
        setDupFlag(frame, 0, false)
        p = decodePublish(frame.buffer, protocolVersion)
        expect(p).toMatchObject({dup: false, qos})
      }
  })

  it('has no packet id at QoS 0', () => {
    const frame = buildPublishFrame({topic: 't', qos: 0, payloadBytes: 64, protocolVersion: 5})
    expect(frame.packetIdOffset).toBe(-1)
    expect(() => patchPacketId(frame, 0, 1)).toThrow(RangeError)
  })

  it('a batch is K consecutive frames, each patched on its own, decoded in order', () => {
    for (const protocolVersion of versions) {
      const k = 64
      const batch = buildPublishBatch({topic: 'bench/batch', qos: 1, payloadBytes: 100, protocolVersion, publisher: 3}, k)
      expect(batch.count).toBe(k)
      expect(batch.buffer.length).toBe(k * batch.frameBytes)
      for (let i = 0; i < k; i++) {
        const start = i * batch.frameBytes
        patchFrame(batch, start, 1000 + i, 5_000_000 + i, 5_000_100 + i)
        patchPacketId(batch, start, i + 1)
      }
      const packets = decodeAll(batch.buffer, protocolVersion) as IPublishPacket[]
      expect(packets).toHaveLength(k)
      packets.forEach((p, i) => {
        expect(p.messageId).toBe(i + 1)
        expect(readHeader(payloadOf(p))).toEqual({publisher: 3, seq: 1000 + i, intendedUs: 5_000_000 + i, sentUs: 5_000_100 + i})
      })
    }
  })

  it('rejects what MQTT or the header cannot carry, with a usage error', () => {
    const ok: PublishFrameSpec = {topic: 't', qos: 0, payloadBytes: 100, protocolVersion: 4}
    expect(() => buildPublishFrame({...ok, payloadBytes: HEADER_BYTES - 1})).toThrow(/at least 32 B/)
    expect(() => buildPublishFrame({...ok, payloadBytes: 16})).toThrow(UsageError)
    expect(() => buildPublishFrame({...ok, topic: ''})).toThrow(UsageError)
    expect(() => buildPublishFrame({...ok, topic: 'a/+/b'})).toThrow(/wildcard/)
    expect(() => buildPublishFrame({...ok, topic: 'a/#'})).toThrow(/wildcard/)
    expect(() => buildPublishFrame({...ok, topic: 'a\u0000b'})).toThrow(/NUL/)
    expect(() => buildPublishFrame({...ok, topic: 'a/\ud800/b'})).toThrow(/well-formed/)
    expect(() => buildPublishFrame({...ok, topic: 'é'.repeat(32_768)})).toThrow(/65,535/)
    expect(() => buildPublishFrame({...ok, payloadBytes: MAX_REMAINING_LENGTH})).toThrow(/256 MiB/)
    expect(() => buildPublishFrame({...ok, publisher: 2 ** 32})).toThrow(/uint32/)
    expect(() => buildPublishBatch(ok, 0)).toThrow(RangeError)
  })
})

describe('remaining length', () => {
  const cases: Array<[number, number[]]> = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [16_383, [0xff, 0x7f]],
    [16_384, [0x80, 0x80, 0x01]],
    [2_097_151, [0xff, 0xff, 0x7f]],
    [2_097_152, [0x80, 0x80, 0x80, 0x01]],
    [268_435_455, [0xff, 0xff, 0xff, 0x7f]],
  ]

  it('encodes the spec boundary values and reads them back', () => {
    for (const [n, bytes] of cases) {
      const buf = Buffer.alloc(6, 0xaa)
      buf[0] = 0x30
      expect(writeRemainingLength(buf, 1, n)).toBe(bytes.length)
      expect(remainingLengthSize(n)).toBe(bytes.length)
      expect([...buf.subarray(1, 1 + bytes.length)]).toEqual(bytes)
      const h: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}
      expect(readFixedHeader(buf, 0, h)).toBe(true)
      expect(h).toEqual({firstByte: 0x30, remaining: n, headerBytes: 1 + bytes.length})
    }
    expect(() => remainingLengthSize(MAX_REMAINING_LENGTH + 1)).toThrow(RangeError)
    expect(() => remainingLengthSize(-1)).toThrow(RangeError)
  })

  it('round-trips every value of the first two byte widths and a spread over the whole range, in the fewest bytes', () => {
    const rnd = seededRandom(21)
    const values = [...Array.from({length: 16_384 + 2}, (_, i) => i), ...Array.from({length: 20_000}, () => Math.floor(rnd() * (MAX_REMAINING_LENGTH + 1)))]
    const buf = Buffer.alloc(5)
    const h: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}
    for (const n of values) {
      const size = writeRemainingLength(buf, 1, n)
      expect(size).toBe(n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4)
      readFixedHeader(buf, 0, h)
      if (h.remaining !== n || h.headerBytes !== 1 + size) expect({n, got: h.remaining}).toEqual({n, got: n})
    }
  })

  it('frames whose remaining length sits on each boundary decode with mqtt-packet', () => {
    for (const protocolVersion of versions) {
      // topic 'r' (2 + 1 bytes) + packet id (2) + v5 property length (1)
      const overhead = 3 + 2 + (protocolVersion === 5 ? 1 : 0)
      for (const remaining of [127, 128, 16_383, 16_384, 2_097_151, 2_097_152]) {
        const frame = buildPublishFrame({topic: 'r', qos: 1, payloadBytes: remaining - overhead, protocolVersion})
        const h: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}
        readFixedHeader(frame.buffer, 0, h)
        expect(h.remaining).toBe(remaining)
        expect(frame.frameBytes).toBe(1 + remainingLengthSize(remaining) + remaining)
        const p = decodePublish(frame.buffer, protocolVersion)
        expect(p.length).toBe(remaining)
        expect(payloadOf(p).length).toBe(remaining - overhead)
      }
    }
  })

  it('waits for more bytes on a cut header and refuses a fifth length byte', () => {
    const h: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}
    expect(readFixedHeader(Buffer.from([0x30]), 0, h)).toBe(false)
    expect(readFixedHeader(Buffer.from([0x30, 0x80, 0x80]), 0, h)).toBe(false)
    expect(() => readFixedHeader(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01]), 0, h)).toThrow(/longer than 4 bytes/)
  })
})

interface SeenAck {
  type: AckType
  packetId: number
  reasonCode: number
}

/** A broker's answer stream: acks of both versions, with and without reason codes and properties, between other packets. */
function ackStream(): {bytes: Buffer; acks: SeenAck[]; others: Buffer[]} {
  const pingresp = mqttPacket.generate({cmd: 'pingresp'})
  const bigPublish = mqttPacket.generate({cmd: 'publish', topic: 'x', payload: Buffer.alloc(3000, 7), qos: 0, retain: false, dup: false})
  const pieces: Array<{buf: Buffer; ack?: SeenAck}> = [
    {buf: mqttPacket.generate({cmd: 'puback', messageId: 1}, {protocolVersion: 4}), ack: {type: 'puback', packetId: 1, reasonCode: 0}},
    {buf: mqttPacket.generate({cmd: 'pubrec', messageId: 300}, {protocolVersion: 4}), ack: {type: 'pubrec', packetId: 300, reasonCode: 0}},
    {buf: pingresp},
    {buf: mqttPacket.generate({cmd: 'pubrel', messageId: 301}, {protocolVersion: 4}), ack: {type: 'pubrel', packetId: 301, reasonCode: 0}},
    {buf: mqttPacket.generate({cmd: 'pubcomp', messageId: 65_535}, {protocolVersion: 4}), ack: {type: 'pubcomp', packetId: 65_535, reasonCode: 0}},
    {
      buf: mqttPacket.generate({cmd: 'puback', messageId: 2, reasonCode: 0x10}, {protocolVersion: 5}),
      ack: {type: 'puback', packetId: 2, reasonCode: 0x10},
    },
    {buf: bigPublish},
    {
      buf: mqttPacket.generate({cmd: 'puback', messageId: 3, reasonCode: 0x97, properties: {reasonString: 'quota exceeded'}}, {protocolVersion: 5}),
      ack: {type: 'puback', packetId: 3, reasonCode: 0x97},
    },
    {
      buf: mqttPacket.generate({cmd: 'pubrec', messageId: 4, reasonCode: 0x80, properties: {reasonString: 'r'.repeat(200)}}, {protocolVersion: 5}),
      ack: {type: 'pubrec', packetId: 4, reasonCode: 0x80},
    },
    {buf: pingresp},
  ]
  return {
    bytes: Buffer.concat(pieces.map((p) => p.buf)),
    acks: pieces.flatMap((p) => (p.ack ? [p.ack] : [])),
    others: pieces.filter((p) => !p.ack).map((p) => p.buf),
  }
}

/** Feeds the chunks; returns the acks seen and the other packets as one hex string per packet (cheap to compare). */
function feed(reader: AckReader, chunks: Buffer[]): {acks: SeenAck[]; others: string[]} {
  const acks: SeenAck[] = []
  const others: string[] = []
  for (const chunk of chunks)
    reader.push(
      chunk,
      (type, packetId, reasonCode) => acks.push({type, packetId, reasonCode}),
      (_first, packet) => others.push(packet.toString('hex')),
    )
  return {acks, others}
}

describe('readAck', () => {
  it('reads each acknowledgement and skips other packets by length', () => {
    const {bytes, acks, others} = ackStream()
    const found: SeenAck[] = []
    let otherBytes = 0
    for (let at = 0; at < bytes.length; ) {
      const a = readAck(bytes, at)
      expect(a).toBeDefined()
      if (!a) break
      if (a.type === 'other') otherBytes += a.length
      else found.push({type: a.type, packetId: a.packetId, reasonCode: a.reasonCode})
      at += a.length
    }
    expect(found).toEqual(acks)
    expect(otherBytes).toBe(others.reduce((n, b) => n + b.length, 0))
  })

  it('returns undefined for an incomplete packet and throws on a malformed acknowledgement', () => {
    const puback = mqttPacket.generate({cmd: 'puback', messageId: 9})
    for (let cut = 0; cut < puback.length; cut++) expect(readAck(puback.subarray(0, cut))).toBeUndefined()
    expect(readAck(puback)).toEqual({type: 'puback', packetId: 9, reasonCode: 0, length: 4})
    expect(() => readAck(Buffer.from([0x41, 0x02, 0x00, 0x01]))).toThrow(/malformed/)
    expect(() => readAck(Buffer.from([0x40, 0x01, 0x00]))).toThrow(/no packet id/)
  })
})

describe('AckReader', () => {
  const stream = ackStream()
  const {bytes, acks} = stream
  const others = stream.others.map((b) => b.toString('hex'))

  it('gives the same acks and other packets whole at every split point', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const reader = new AckReader()
      const got = feed(reader, [bytes.subarray(0, cut), bytes.subarray(cut)])
      expect(got.acks).toEqual(acks)
      expect(got.others).toEqual(others)
      expect(reader.buffered).toBe(0)
    }
  })

  it('handles one byte at a time and random chunking', () => {
    const reader = new AckReader()
    const oneByOne = feed(
      reader,
      Array.from({length: bytes.length}, (_, i) => bytes.subarray(i, i + 1)),
    )
    expect(oneByOne.acks).toEqual(acks)
    expect(oneByOne.others).toEqual(others)
    const rnd = seededRandom(9)
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = []
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(rnd() * 500)
        chunks.push(bytes.subarray(at, at + n))
        at += n
      }
      const got = feed(new AckReader(), chunks)
      expect(got.acks).toEqual(acks)
      expect(got.others).toEqual(others)
    }
  })

  it('holds back only the unfinished packet, and does not keep the whole chunk alive', () => {
    const reader = new AckReader()
    const puback = mqttPacket.generate({cmd: 'puback', messageId: 5})
    const chunk = Buffer.concat([puback, puback.subarray(0, 3)])
    const got = feed(reader, [chunk])
    expect(got.acks).toHaveLength(1)
    expect(reader.buffered).toBe(3)
    chunk.fill(0) // the reader must have copied its remainder
    expect(feed(reader, [puback.subarray(3)]).acks).toEqual([{type: 'puback', packetId: 5, reasonCode: 0}])
    expect(reader.buffered).toBe(0)
  })
})
