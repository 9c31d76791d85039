/**
 * Modbus TCP framing: the 7-byte MBAP header (transaction id, protocol id 0, length, unit id) in front of a PDU.
 * One reader for both directions, so the server and the client split the byte stream the same way.
 */

export const MBAP_HEADER = 7
/** A PDU is at most 253 bytes, so the MBAP length field (unit id + PDU) is at most 254. */
export const MAX_MBAP_LENGTH = 254

export interface Frame {
  transactionId: number
  unitId: number
  pdu: Buffer
}

export function encodeFrame(transactionId: number, unitId: number, pdu: Buffer): Buffer {
  const b = Buffer.allocUnsafe(MBAP_HEADER + pdu.length)
  b.writeUInt16BE(transactionId & 0xffff, 0)
  b.writeUInt16BE(0, 2)
  b.writeUInt16BE(pdu.length + 1, 4)
  b[6] = unitId & 0xff
  pdu.copy(b, MBAP_HEADER)
  return b
}

export class FramingError extends Error {}

/** Accumulates socket chunks and yields whole frames; throws FramingError on a header no peer should send. */
export class FrameReader {
  private buffer: Buffer = Buffer.alloc(0)

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const frames: Frame[] = []
    let at = 0
    while (this.buffer.length - at >= MBAP_HEADER) {
      const protocol = this.buffer.readUInt16BE(at + 2)
      const length = this.buffer.readUInt16BE(at + 4)
      if (protocol !== 0) throw new FramingError(`protocol id ${protocol} is not Modbus (0)`)
      if (length < 2 || length > MAX_MBAP_LENGTH) throw new FramingError(`MBAP length ${length} outside 2..${MAX_MBAP_LENGTH}`)
      if (this.buffer.length - at < 6 + length) break
      frames.push({
        transactionId: this.buffer.readUInt16BE(at),
        unitId: this.buffer[at + 6],
        pdu: Buffer.from(this.buffer.subarray(at + MBAP_HEADER, at + 6 + length)),
      })
      at += 6 + length
    }
    this.buffer = at === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(at)
    return frames
  }
}
