/**
 * MQTT on the wire, below any client: variable byte integers (the Remaining Length, MQTT 5 property lengths), the
 * fixed header, and the framing loop that
 * splits a socket's bytes into whole packets. Shared by the raw connections (net/raw-mqtt-connection.ts), the QoS 0
 * encoder (net/qos0-publish.ts) and the bench's frames and readers (bench/publish-frame.ts, publish-reader.ts).
 */
import {IotdError} from '../errors.js'

export type MqttProtocolVersion = 4 | 5
export type QoS = 0 | 1 | 2

/** The largest Remaining Length MQTT can encode (four varint bytes): 256 MiB - 1. */
export const MAX_REMAINING_LENGTH = 268_435_455

/** Bytes the varint Remaining Length takes for `n`. */
export function remainingLengthSize(n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_REMAINING_LENGTH) throw new RangeError(`MQTT remaining length out of range: ${n}`)
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4
}

/** Writes `n` as an MQTT variable byte integer at `offset`; returns the bytes written (1–4). */
export function writeRemainingLength(buf: Buffer, offset: number, n: number): number {
  const size = remainingLengthSize(n)
  let value = n
  for (let i = 0; i < size; i++) {
    const digit = value % 128
    value = Math.floor(value / 128)
    buf[offset + i] = i < size - 1 ? digit | 0x80 : digit
  }
  return size
}

/** A variable byte integer as read by {@link readVariableByteInteger}. */
export interface VariableByteInteger {
  value: number
  /** Bytes it took (1–4). */
  bytes: number
}

/**
 * The one reader of MQTT variable byte integers: reads one at `offset` into `out`, not reading at or past `end`.
 * Returns false when `end` comes before its last byte; throws when it runs past four bytes (the stream is not MQTT,
 * or is corrupt).
 */
function readVarint(buf: Buffer, offset: number, end: number, out: VariableByteInteger): boolean {
  let value = 0
  let multiplier = 1
  for (let i = 0; i < 4; i++) {
    if (offset + i >= end) return false
    const b = buf[offset + i]
    value += (b & 0x7f) * multiplier
    if ((b & 0x80) === 0) {
      out.value = value
      out.bytes = i + 1
      return true
    }
    multiplier *= 128
  }
  throw new IotdError('malformed MQTT packet from the broker: a variable byte integer longer than 4 bytes')
}

/**
 * Reads a variable byte integer inside a complete packet (MQTT 5 property lengths), ending at `end`: one that runs
 * past it, or past four bytes, means the packet is malformed (an IotdError).
 */
export function readVariableByteInteger(buf: Buffer, offset: number, end: number, out: VariableByteInteger): void {
  if (!readVarint(buf, offset, end, out)) throw new IotdError('malformed MQTT packet from the broker: a variable byte integer runs past the end of its packet')
}

/** A packet's fixed header, as read by {@link readFixedHeader}. */
export interface FixedHeader {
  firstByte: number
  /** The Remaining Length: bytes after the fixed header. */
  remaining: number
  /** Bytes of the fixed header itself (first byte + varint: 2–5). */
  headerBytes: number
}

/**
 * Reads the fixed header at `offset` into `out`. Returns false when the bytes end before the header does (wait for
 * more); throws when the length varint runs past four bytes (the stream is not MQTT, or is corrupt).
 */
export function readFixedHeader(buf: Buffer, offset: number, out: FixedHeader): boolean {
  if (!readVarint(buf, offset + 1, buf.length, remainingLength)) return false
  out.firstByte = buf[offset]
  out.remaining = remainingLength.value
  out.headerBytes = 1 + remainingLength.bytes
  return true
}

/** Scratch for readFixedHeader (one per thread; nothing in it outlives a call), so a packet allocates nothing. */
const remainingLength: VariableByteInteger = {value: 0, bytes: 0}

/** Called with each complete packet: it spans [start, start + header.headerBytes + header.remaining) of `data`. */
export type PacketHandler = (data: Buffer, start: number, header: FixedHeader) => void

/**
 * Splits a socket's byte stream into complete MQTT packets, whatever the chunking: the one framing loop under
 * AckReader and PublishReader. Complete packets are handed over straight from the chunk; only an unfinished packet
 * at a chunk's end is kept (copied, so the chunk is not pinned) and joined with what follows once enough bytes
 * have arrived. If a handler throws, the stream cannot be resynchronised: close the connection.
 */
export class PacketStream {
  private pending: Buffer[] = []
  private pendingBytes = 0
  /** Bytes the pending packet needs in all, once its fixed header is known; 0 while it is not. */
  private needed = 0
  private readonly header: FixedHeader = {firstByte: 0, remaining: 0, headerBytes: 0}

  /** Bytes held back waiting for the rest of a packet. */
  get buffered(): number {
    return this.pendingBytes
  }

  push(chunk: Buffer, onPacket: PacketHandler): void {
    let data = chunk
    if (this.pendingBytes > 0) {
      this.pending.push(chunk)
      this.pendingBytes += chunk.length
      if (this.pendingBytes < this.needed) return
      data = Buffer.concat(this.pending, this.pendingBytes)
      this.pending = []
      this.pendingBytes = 0
    }
    this.needed = 0
    const h = this.header
    let pos = 0
    while (pos < data.length) {
      if (!readFixedHeader(data, pos, h)) break
      const length = h.headerBytes + h.remaining
      if (data.length - pos < length) {
        this.needed = length
        break
      }
      const start = pos
      pos += length
      onPacket(data, start, h)
    }
    if (pos < data.length) {
      this.pending = [Buffer.from(data.subarray(pos))]
      this.pendingBytes = data.length - pos
    }
  }
}

/**
 * Whether `topic` may be published to: not empty, no wildcard (`+`, `#`), no NUL (MQTT 3.1.1 §4.7, 5.0 §4.7).
 * By index rather than a regex. The characters only: the length (65,535 UTF-8 bytes) is the caller's, as bench's
 * publish frame counts it; net/topic-rules.ts's isTopicName checks both, as findTopicFault does.
 */
export function isTopicName(topic: string): boolean {
  return topic !== '' && topic.indexOf('+') < 0 && topic.indexOf('#') < 0 && topic.indexOf('\0') < 0
}
