/**
 * The subscriber side of the bench hot path: a streaming reader of the packets a broker sends to a subscriber
 * (MQTT 3.1.1 and 5), which hands each PUBLISH to a callback as offsets into the bytes it holds. Nothing is
 * allocated per message on the common path (a PUBLISH wholly inside one chunk): no packet object, no topic string,
 * no payload Buffer. The subscriber reads the latency header straight from those bytes (`readHeaderInto(buf,
 * payloadOffset, …)`) and moves on.
 *
 * Chunking: complete packets are read from the chunk in place; only an unfinished packet at a chunk's end is kept
 * (its bytes copied, so the chunk is not pinned) and joined with what follows once the whole packet has arrived,
 * exactly as {@link AckReader} does on the publishing side.
 *
 * MQTT 5: the PUBLISH property list is skipped by its length (a variable byte integer), whatever it holds. A topic
 * alias shows up as a zero-length topic; the properties of the current PUBLISH are at
 * {@link PublishReader.propertiesOffset} for a caller that resolves aliases. Brokers only send aliases to clients
 * that announced a Topic Alias Maximum in CONNECT, which iotd's raw connections do not.
 */
import {IotdError} from '../errors.js'
import {PacketStream, readVariableByteInteger, type FixedHeader, type MqttProtocolVersion, type QoS, type VariableByteInteger} from './mqtt-wire.js'

/** MQTT control packet types (the high nibble of the first byte). */
export const PACKET_TYPE = {
  connect: 1,
  connack: 2,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  suback: 9,
  unsubscribe: 10,
  unsuback: 11,
  pingreq: 12,
  pingresp: 13,
  disconnect: 14,
  auth: 15,
} as const

/**
 * Receives one PUBLISH. `buf` and every offset into it are valid only during the call: the buffer is the caller's
 * chunk or the reader's own join buffer, and the next push may reuse or drop it. Copy what you keep
 * (`Buffer.from(buf.subarray(payloadOffset, payloadOffset + payloadLength))`). `packetId` is 0 at QoS 0.
 * `topicLength` is 0 when an MQTT 5 topic alias stands for the topic.
 */
export type PublishHandler = (
  buf: Buffer,
  payloadOffset: number,
  payloadLength: number,
  qos: QoS,
  packetId: number,
  topicOffset: number,
  topicLength: number,
  dup: boolean,
  retain: boolean,
) => void

/**
 * Receives any packet that is not a PUBLISH: its type ({@link PACKET_TYPE}), the flag bits of its first byte, and
 * its body (everything after the fixed header: packet id, reason code, properties, …) as a view into the reader's
 * bytes, valid only during the call.
 */
export type NonPublishHandler = (type: number, flags: number, body: Buffer) => void

function malformed(what: string): IotdError {
  return new IotdError(`malformed MQTT ${what} from the broker`)
}

/**
 * Turns a subscriber socket's byte stream into PUBLISH callbacks and other packets, whatever the chunking. One
 * reader per connection. After it throws (malformed input) the stream cannot be resynchronised: close the
 * connection.
 */
export class PublishReader {
  private readonly stream = new PacketStream()
  private readonly varint: VariableByteInteger = {value: 0, bytes: 0}
  private propsOffset = -1
  private propsLength = 0

  constructor(readonly protocolVersion: MqttProtocolVersion) {
    if (protocolVersion !== 4 && protocolVersion !== 5) throw new RangeError(`MQTT protocol version must be 4 or 5: ${String(protocolVersion)}`)
  }

  /** Bytes held back waiting for the rest of a packet. */
  get buffered(): number {
    return this.stream.buffered
  }

  /**
   * During an MQTT 5 onPublish call: the offset in `buf` of the current PUBLISH's properties (after their length)
   * and their length in bytes. -1 and 0 under MQTT 3.1.1 or outside a call. The reader never looks inside them.
   */
  get propertiesOffset(): number {
    return this.propsOffset
  }

  get propertiesLength(): number {
    return this.propsLength
  }

  /**
   * Reads every complete packet in what has arrived so far, in order. Without `onOther`, non-PUBLISH packets are
   * skipped. Exceptions thrown by a handler propagate; the packets after it in the chunk are then not delivered.
   */
  push(chunk: Buffer, onPublish: PublishHandler, onOther?: NonPublishHandler): void {
    this.stream.push(chunk, (data, start, h: FixedHeader) => {
      const first = h.firstByte
      const body = start + h.headerBytes
      const end = body + h.remaining
      if (first >> 4 === PACKET_TYPE.publish) this.publish(data, first, body, end, onPublish)
      else if (first >> 4 === 0) throw malformed('packet (reserved type 0)')
      else if (onOther) onOther(first >> 4, first & 0x0f, data.subarray(body, end))
    })
  }

  private publish(data: Buffer, first: number, body: number, end: number, onPublish: PublishHandler): void {
    const qos = (first >> 1) & 3
    if (qos === 3) throw malformed('PUBLISH (QoS bits 11)')
    if (end - body < 2) throw malformed('PUBLISH (no topic length)')
    const topicLength = (data[body] << 8) | data[body + 1]
    const topicOffset = body + 2
    let at = topicOffset + topicLength
    let packetId = 0
    if (qos > 0) {
      if (at + 2 > end) throw malformed('PUBLISH (topic or packet id past the end of the packet)')
      packetId = (data[at] << 8) | data[at + 1]
      at += 2
    }
    if (this.protocolVersion === 5) {
      readVariableByteInteger(data, at, end, this.varint)
      this.propsOffset = at + this.varint.bytes
      this.propsLength = this.varint.value
      at = this.propsOffset + this.propsLength
    }
    if (at > end) throw malformed('PUBLISH (topic, packet id or properties past the end of the packet)')
    onPublish(data, at, end - at, qos as QoS, packetId, topicOffset, topicLength, (first & 0x08) !== 0, (first & 0x01) !== 0)
    this.propsOffset = -1
    this.propsLength = 0
  }
}
