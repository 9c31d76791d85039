/**
 * Modbus RTU framing (Modbus over serial line, V1.02): unit id + PDU + CRC-16 (polynomial 0xA001, low byte first),
 * frames separated by at least 3.5 character times of silence. A character on the line is 11 bits (start, 8 data,
 * parity or a second stop bit, stop), so a frame of n bytes takes n × 11 / baud seconds. Above 19200 baud the
 * specification fixes the silence at 1.75 ms.
 */

const CRC_TABLE = (() => {
  const t = new Uint16Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1
    t[i] = c
  }
  return t
})()

export function crc16(bytes: Uint8Array, end = bytes.length): number {
  let crc = 0xffff
  for (let i = 0; i < end; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ bytes[i]) & 0xff]
  return crc
}

export function encodeRtuFrame(unitId: number, pdu: Buffer): Buffer {
  const b = Buffer.allocUnsafe(pdu.length + 3)
  b[0] = unitId & 0xff
  pdu.copy(b, 1)
  b.writeUInt16LE(crc16(b, pdu.length + 1), pdu.length + 1)
  return b
}

export function rtuCrcOk(frame: Uint8Array): boolean {
  return frame.length >= 4 && crc16(frame, frame.length - 2) === (frame[frame.length - 2] | (frame[frame.length - 1] << 8))
}

/** Bits per character on the line: start + 8 data + parity (or a second stop bit) + stop. */
export const BITS_PER_CHAR = 11

/** Time a frame of `bytes` takes on the line, in ms. */
export function lineTimeMs(bytes: number, baud: number): number {
  return (bytes * BITS_PER_CHAR * 1000) / baud
}

/** The 3.5-character silence that ends a frame, in ms (fixed at 1.75 ms above 19200 baud). */
export function frameSilenceMs(baud: number): number {
  return baud > 19200 ? 1.75 : lineTimeMs(3.5, baud)
}

/**
 * The length of a request frame from its first bytes (unit, function code, and for writes of several values the byte
 * count), so a server splits a byte stream without waiting for the silence: undefined while too few bytes have come,
 * 0 for a function code whose length it cannot tell (then the silence ends the frame).
 */
export function requestFrameLength(buf: Uint8Array): number | undefined {
  if (buf.length < 2) return undefined
  switch (buf[1]) {
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 8:
      return 8
    case 7:
    case 11:
    case 12:
    case 17:
      return 4
    case 15:
    case 16:
      return buf.length < 7 ? undefined : 9 + buf[6]
    case 22:
      return 10
    case 23:
      return buf.length < 11 ? undefined : 13 + buf[10]
    default:
      return 0
  }
}
