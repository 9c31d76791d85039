/**
 * Pre-encoded MQTT PUBLISH frames for the bench hot path. The per-message cost of a broker benchmark is the
 * client's own cost, so iotd encodes a PUBLISH once per (topic, QoS, retain, size, protocol) and then only patches
 * the fields that change from message to message in place: the packet id (QoS 1/2) and the latency header's
 * sequence and times. A batch is one Buffer holding K consecutive copies of the frame, patched and handed to one
 * `socket.write`, so K messages cost one syscall.
 *
 * A batch buffer must not be patched again while the socket still holds it: reuse it only after its write
 * callback has fired (keep a small pool per connection), and stop writing when `write()` returns false until
 * 'drain'.
 *
 * The acknowledgement side is here too: {@link AckReader} walks the bytes a broker sends back on a publishing
 * connection and reports PUBACK/PUBREC/PUBREL/PUBCOMP by packet id without allocating per packet.
 *
 * Only MQTT 3.1.1 (protocol level 4) and 5 are built. For 5 the PUBLISH carries an empty property list (one 0x00
 * byte after the packet id): no topic alias, no expiry, so the frame is identical for every message.
 */
import {IotdError, UsageError} from '../errors.js'
import {isTopicName, MAX_REMAINING_LENGTH, PacketStream, readFixedHeader, remainingLengthSize, writeRemainingLength, type FixedHeader, type MqttProtocolVersion, type QoS} from '../net/mqtt-wire.js'
import {HEADER_BYTES, HEADER_FIELD, writeHeader, writeUint64} from './latency-header.js'

export interface PublishFrameSpec {
  /** A topic name (no wildcards), at most 65,535 bytes of UTF-8. */
  topic: string
  qos: QoS
  retain?: boolean
  /** Payload bytes, latency header included: at least {@link HEADER_BYTES}; the rest is zero padding. */
  payloadBytes: number
  /** 4 = MQTT 3.1.1, 5 = MQTT 5. */
  protocolVersion: MqttProtocolVersion
  /** Publisher id written once into the header (uint32). Default 0. */
  publisher?: number
}

/**
 * One or more identical PUBLISH frames in one buffer, and where the changing fields sit. Offsets are from the
 * start of a frame: frame i starts at `i * frameBytes`.
 */
export interface PublishFrames {
  buffer: Buffer
  /** Frames in `buffer`. */
  count: number
  /** Bytes of one frame. */
  frameBytes: number
  /** Offset of the uint16 packet id, or -1 at QoS 0 (there is none). */
  packetIdOffset: number
  /** Offset of the payload, i.e. of the latency header. */
  payloadOffset: number
  publisherOffset: number
  /** uint64 fields: patch with {@link writeUint64} or {@link patchFrame}. */
  seqOffset: number
  intendedOffset: number
  sentOffset: number
}

function validateSpec(spec: PublishFrameSpec): Buffer {
  const {topic, qos, payloadBytes, protocolVersion} = spec
  if (protocolVersion !== 4 && protocolVersion !== 5) {
    throw new UsageError(`MQTT protocol version must be 4 (3.1.1) or 5: ${String(protocolVersion)}`)
  }
  if (qos !== 0 && qos !== 1 && qos !== 2) throw new UsageError(`QoS must be 0, 1 or 2: ${String(qos)}`)
  if (topic.length === 0) throw new UsageError('the publish topic is empty')
  if (!isTopicName(topic)) {
    throw new UsageError(`publish topic "${topic}" contains a wildcard (+ or #) or a NUL character`)
  }
  const topicBytes = Buffer.from(topic, 'utf8')
  // Buffer.from replaces a lone UTF-16 surrogate with U+FFFD: the topic would not be the one asked for.
  if (topicBytes.toString('utf8') !== topic) throw new UsageError(`publish topic "${topic}" is not well-formed Unicode`)
  if (topicBytes.length > 0xffff) throw new UsageError(`publish topic is ${topicBytes.length} bytes of UTF-8; MQTT allows 65,535`)
  if (!Number.isInteger(payloadBytes) || payloadBytes < HEADER_BYTES) {
    throw new UsageError(`bench payload size must be a whole number of at least ${HEADER_BYTES} B (the latency header): ${payloadBytes}`, [
      `use --size ${HEADER_BYTES}B or more`,
    ])
  }
  const publisher = spec.publisher ?? 0
  if (!Number.isInteger(publisher) || publisher < 0 || publisher > 0xffff_ffff) {
    throw new RangeError(`publisher id must be a uint32: ${publisher}`)
  }
  return topicBytes
}

/** Builds one PUBLISH frame. Packet id (QoS > 0) starts at 1; the header's seq and times at 0. */
export function buildPublishFrame(spec: PublishFrameSpec): PublishFrames {
  return buildPublishBatch(spec, 1)
}

/** Builds `count` consecutive copies of the PUBLISH frame in one buffer (see {@link buildPublishFrame}). */
export function buildPublishBatch(spec: PublishFrameSpec, count: number): PublishFrames {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`a batch holds at least one frame: ${count}`)
  const topicBytes = validateSpec(spec)
  const {qos, payloadBytes, protocolVersion} = spec
  const variableHeader = 2 + topicBytes.length + (qos > 0 ? 2 : 0) + (protocolVersion === 5 ? 1 : 0)
  const remaining = variableHeader + payloadBytes
  if (remaining > MAX_REMAINING_LENGTH) {
    throw new UsageError(`a PUBLISH of ${payloadBytes} B payload on this topic exceeds MQTT's 256 MiB packet limit`)
  }
  const frameBytes = 1 + remainingLengthSize(remaining) + remaining

  const frame = Buffer.alloc(frameBytes)
  let at = 0
  frame[at++] = 0x30 | (qos << 1) | (spec.retain ? 1 : 0)
  at += writeRemainingLength(frame, at, remaining)
  frame.writeUInt16BE(topicBytes.length, at)
  at += 2
  topicBytes.copy(frame, at)
  at += topicBytes.length
  let packetIdOffset = -1
  if (qos > 0) {
    packetIdOffset = at
    frame.writeUInt16BE(1, at)
    at += 2
  }
  if (protocolVersion === 5) frame[at++] = 0 // property length: no properties
  const payloadOffset = at
  writeHeader(frame, payloadOffset, {publisher: spec.publisher ?? 0, seq: 0, intendedUs: 0, sentUs: 0})

  const buffer = count === 1 ? frame : Buffer.allocUnsafe(frameBytes * count)
  if (count > 1) for (let i = 0; i < count; i++) frame.copy(buffer, i * frameBytes)
  return {
    buffer,
    count,
    frameBytes,
    packetIdOffset,
    payloadOffset,
    publisherOffset: payloadOffset + HEADER_FIELD.publisher,
    seqOffset: payloadOffset + HEADER_FIELD.seq,
    intendedOffset: payloadOffset + HEADER_FIELD.intendedUs,
    sentOffset: payloadOffset + HEADER_FIELD.sentUs,
  }
}

/** Patches the header fields of the frame starting at `frameStart` (integers below 2^53; fractions truncated). */
export function patchFrame(frames: PublishFrames, frameStart: number, seq: number, intendedUs: number, sentUs: number): void {
  const buf = frames.buffer
  writeUint64(buf, frameStart + frames.seqOffset, seq)
  writeUint64(buf, frameStart + frames.intendedOffset, intendedUs)
  writeUint64(buf, frameStart + frames.sentOffset, sentUs)
}

/** Patches the packet id (1–65,535) of the frame starting at `frameStart`. Throws at QoS 0. */
export function patchPacketId(frames: PublishFrames, frameStart: number, packetId: number): void {
  if (frames.packetIdOffset < 0) throw new RangeError('a QoS 0 PUBLISH has no packet id')
  frames.buffer.writeUInt16BE(packetId, frameStart + frames.packetIdOffset)
}

/** Sets or clears the DUP flag (a QoS 1/2 retransmission) of the frame starting at `frameStart`. */
export function setDupFlag(frames: PublishFrames, frameStart: number, dup: boolean): void {
  const buf = frames.buffer
  buf[frameStart] = dup ? buf[frameStart] | 0x08 : buf[frameStart] & ~0x08
}

// ---------------------------------------------------------------------------------------------------------------
// Acknowledgements.

export type AckType = 'puback' | 'pubrec' | 'pubrel' | 'pubcomp'

export interface AckPacket {
  /** 'other' for any packet that is not a publish acknowledgement (PINGRESP, DISCONNECT, PUBLISH, …). */
  type: AckType | 'other'
  /** The acknowledged packet id, or -1 for 'other'. */
  packetId: number
  /** MQTT 5 reason code (>= 0x80 is a failure, e.g. 0x97 quota exceeded); 0 when absent (always in 3.1.1). */
  reasonCode: number
  /** Bytes of the whole packet: the next one starts at offset + length. */
  length: number
}

/** Ack types by exact first byte (the flag bits are fixed: PUBREL's are 0010, the others' 0000). */
function ackTypeOf(firstByte: number): AckType | undefined {
  switch (firstByte) {
    case 0x40:
      return 'puback'
    case 0x50:
      return 'pubrec'
    case 0x62:
      return 'pubrel'
    case 0x70:
      return 'pubcomp'
    default:
      return undefined
  }
}

function isAckTypeNibble(firstByte: number): boolean {
  const t = firstByte >> 4
  return t === 4 || t === 5 || t === 6 || t === 7
}

/** Validates an acknowledgement's shape; throws on one no broker should send. */
function checkAck(firstByte: number, remaining: number): AckType | undefined {
  const type = ackTypeOf(firstByte)
  if (type === undefined) {
    if (isAckTypeNibble(firstByte)) {
      throw new IotdError(`malformed MQTT acknowledgement from the broker: first byte 0x${firstByte.toString(16)}`)
    }
    return undefined
  }
  if (remaining < 2) throw new IotdError(`malformed MQTT ${type.toUpperCase()} from the broker: ${remaining} bytes, no packet id`)
  return type
}

/**
 * The packet at `offset` if it is complete: an acknowledgement with its packet id and reason code, or 'other' with
 * its length so the caller can skip it. Undefined when the bytes end before the packet does.
 */
export function readAck(buf: Buffer, offset = 0): AckPacket | undefined {
  const h: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}
  if (!readFixedHeader(buf, offset, h)) return undefined
  const length = h.headerBytes + h.remaining
  if (buf.length - offset < length) return undefined
  const type = checkAck(h.firstByte, h.remaining)
  if (type === undefined) return {type: 'other', packetId: -1, reasonCode: 0, length}
  const body = offset + h.headerBytes
  return {type, packetId: buf.readUInt16BE(body), reasonCode: h.remaining >= 3 ? buf[body + 2] : 0, length}
}

export type AckHandler = (type: AckType, packetId: number, reasonCode: number) => void
/** Receives a packet that is not an acknowledgement (a view into the reader's data: copy it to keep it). */
export type OtherPacketHandler = (firstByte: number, packet: Buffer) => void

/** Turns a publisher socket's byte stream into acknowledgements (PUBACK, PUBREC, PUBCOMP), whatever the chunking. */
export class AckReader {
  private readonly stream = new PacketStream()

  /** Bytes held back waiting for the rest of a packet. */
  get buffered(): number {
    return this.stream.buffered
  }

  push(chunk: Buffer, onAck: AckHandler, onOther?: OtherPacketHandler): void {
    this.stream.push(chunk, (data, start, h) => {
      const type = checkAck(h.firstByte, h.remaining)
      const body = start + h.headerBytes
      if (type !== undefined) onAck(type, data.readUInt16BE(body), h.remaining >= 3 ? data[body + 2] : 0)
      else if (onOther) onOther(h.firstByte, data.subarray(start, body + h.remaining))
    })
  }
}
