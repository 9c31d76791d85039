import type {ResolvedTag, TagType, TagValue, WordOrder} from './types.js'

/**
 * Engineering values to register words and back. A value is first turned into its raw form
 * (raw = (value − offset) / scale, rounded and clamped to the type for integers), written big-endian into bytes,
 * and then the word order is applied: CDAB reverses the words, BADC swaps the two bytes of each word, DCBA does
 * both (little-endian). The two swaps are their own inverses, so the same function decodes.
 */

const INT_RANGE: Partial<Record<TagType, [bigint, bigint]>> = {
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
}

const FLOAT32_MAX = 3.4028234663852886e38

function swapsOf(order: WordOrder): {words: boolean; bytes: boolean} {
  return {words: order === 'CDAB' || order === 'DCBA', bytes: order === 'BADC' || order === 'DCBA'}
}

/** Big-endian bytes → register words in `order`. */
export function bytesToWords(bytes: Uint8Array, order: WordOrder): number[] {
  const {words: swapWords, bytes: swapBytes} = swapsOf(order)
  const out: number[] = []
  for (let i = 0; i + 1 < bytes.length; i += 2) out.push(swapBytes ? (bytes[i + 1] << 8) | bytes[i] : (bytes[i] << 8) | bytes[i + 1])
  return swapWords ? out.reverse() : out
}

/** Register words in `order` → big-endian bytes. */
export function wordsToBytes(words: readonly number[], order: WordOrder): Uint8Array {
  const {words: swapWords, bytes: swapBytes} = swapsOf(order)
  const list = swapWords ? [...words].reverse() : words
  const out = new Uint8Array(list.length * 2)
  list.forEach((w, i) => {
    const hi = (w >> 8) & 0xff
    const lo = w & 0xff
    out[2 * i] = swapBytes ? lo : hi
    out[2 * i + 1] = swapBytes ? hi : lo
  })
  return out
}

/** The raw number a register holds for an engineering value: scaled, rounded and clamped to the type. */
export function toRaw(type: TagType, value: number, scale = 1, offset = 0): number | bigint {
  const raw = (value - offset) / scale
  if (type === 'float32') return Number.isNaN(raw) ? raw : Math.max(-FLOAT32_MAX, Math.min(FLOAT32_MAX, raw))
  if (type === 'float64') return raw
  const range = INT_RANGE[type]
  if (!range) throw new Error(`type ${type} has no raw integer form`)
  if (Number.isNaN(raw)) return 0n
  const [lo, hi] = range
  if (raw <= Number(lo)) return lo
  if (raw >= Number(hi)) return hi
  return BigInt(Math.round(raw))
}

/**
 * Why `text` cannot be written as a register tag of `type` exactly, or undefined when it can. toRaw and encodeTag
 * clamp and round, which is right for a simulated device whose generator drifts past a range; a value a person asks
 * to write to a real device must be refused instead of landing as some other number. With a scale or offset the
 * raw value (what the register holds) is checked and named. A string must fit its `length` in bytes (UTF-8), since
 * encodeTag cuts it there, possibly inside a character. Bools and bits are not checked here.
 */
export function writeProblem(type: TagType, text: string, scale = 1, offset = 0, length?: number): string | undefined {
  if (type === 'string') {
    const bytes = Buffer.byteLength(text, 'utf8')
    return length !== undefined && bytes > length ? `"${text}" is ${bytes} bytes (UTF-8), more than --length ${length} holds` : undefined
  }
  if (type === 'bool' || type === 'bit') return undefined
  const trimmed = text.trim()
  const value = Number(trimmed)
  if (trimmed === '' || Number.isNaN(value)) return `${text} is not a number`
  if (!Number.isFinite(value)) return `${text} is not a finite number`
  const scaled = scale !== 1 || offset !== 0
  const what = scaled ? `${trimmed} is raw ${formatRaw((value - offset) / scale)} after --scale ${scale}${offset === 0 ? '' : ` and --offset ${offset}`}, which` : trimmed
  const raw = (value - offset) / scale
  if (type === 'float32') {
    return Math.abs(raw) > FLOAT32_MAX ? `${what} is outside float32 ±${FLOAT32_MAX}` : undefined
  }
  if (type === 'float64') return Number.isFinite(raw) ? undefined : `${what} is outside float64`
  const range = INT_RANGE[type]
  if (!range) return undefined
  const [lo, hi] = range
  // An unscaled 64-bit integer is checked from its digits (a number rounds beyond 2^53).
  if (!scaled && /^-?\d+$/.test(trimmed)) {
    const big = BigInt(trimmed)
    return big < lo || big > hi ? `${trimmed} is outside ${type} ${lo}..${hi}` : undefined
  }
  const nearest = Math.round(raw)
  // (value − offset) / scale carries binary noise: 1.5 / 0.1 is 15.000000000000002, which is 15.
  if (Math.abs(raw - nearest) > 1e-9 * Math.max(1, Math.abs(raw))) {
    const kind = type === 'int16' || type === 'uint16' ? 'int16/uint16 take' : `${type} takes`
    return `${what} is not an integer: ${kind} whole numbers`
  }
  if (nearest < Number(lo) || nearest > Number(hi)) return `${what} is outside ${type} ${lo}..${hi}`
  return undefined
}

function formatRaw(raw: number): string {
  return String(Number(raw.toPrecision(12)))
}

function clampBig(type: TagType, value: bigint): bigint {
  const [lo, hi] = INT_RANGE[type] ?? [value, value]
  return value < lo ? lo : value > hi ? hi : value
}

/** Encodes a numeric or string tag into its register words (bool and bit tags are set by the register image). */
export function encodeTag(tag: Pick<ResolvedTag, 'type' | 'order' | 'scale' | 'offset' | 'length'>, value: TagValue | bigint): number[] {
  const {type, order} = tag
  if (type === 'bool' || type === 'bit') throw new Error(`encodeTag: ${type} tags are bits, not registers`)
  if (type === 'string') {
    const length = tag.length ?? 0
    const bytes = new Uint8Array(Math.ceil(length / 2) * 2)
    const text = Buffer.from(String(value), 'utf8')
    bytes.set(text.subarray(0, length))
    // Strings keep their characters in reading order; only the byte swap inside each register applies.
    return bytesToWords(bytes, order === 'BADC' || order === 'DCBA' ? 'BADC' : 'ABCD')
  }
  // A bigint keeps all 64 bits of an unscaled int64/uint64 (a number holds 53).
  const exact = typeof value === 'bigint' && (type === 'int64' || type === 'uint64') && tag.scale === 1 && tag.offset === 0
  const raw = exact ? clampBig(type, value) : toRaw(type, Number(value), tag.scale, tag.offset)
  const size = type === 'int16' || type === 'uint16' ? 2 : type === 'int64' || type === 'uint64' || type === 'float64' ? 8 : 4
  const view = new DataView(new ArrayBuffer(size))
  switch (type) {
    case 'int16':
      view.setInt16(0, Number(raw))
      break
    case 'uint16':
      view.setUint16(0, Number(raw))
      break
    case 'int32':
      view.setInt32(0, Number(raw))
      break
    case 'uint32':
      view.setUint32(0, Number(raw))
      break
    case 'float32':
      view.setFloat32(0, Number(raw))
      break
    case 'int64':
      view.setBigInt64(0, BigInt(raw))
      break
    case 'uint64':
      view.setBigUint64(0, BigInt(raw))
      break
    case 'float64':
      view.setFloat64(0, Number(raw))
      break
  }
  return bytesToWords(new Uint8Array(view.buffer), order)
}

/** The raw value of register words: a number (64-bit integers beyond 2^53 lose precision, as in JSON). */
export function decodeRaw(type: TagType, words: readonly number[], order: WordOrder): number {
  const bytes = wordsToBytes(words, order)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (type) {
    case 'int16':
      return view.getInt16(0)
    case 'uint16':
      return view.getUint16(0)
    case 'int32':
      return view.getInt32(0)
    case 'uint32':
      return view.getUint32(0)
    case 'float32':
      return shortestFloat32(view.getFloat32(0))
    case 'int64':
      return Number(view.getBigInt64(0))
    case 'uint64':
      return Number(view.getBigUint64(0))
    case 'float64':
      return view.getFloat64(0)
    default:
      throw new Error(`decodeRaw: ${type} is not a numeric register type`)
  }
}

/** Decodes a register tag's words to its engineering value. */
export function decodeTag(tag: Pick<ResolvedTag, 'type' | 'order' | 'scale' | 'offset' | 'length' | 'bit'>, words: readonly number[]): TagValue {
  if (tag.type === 'bit') return ((words[0] >> (tag.bit ?? 0)) & 1) === 1
  if (tag.type === 'bool') throw new Error('decodeTag: bool tags are read as bits')
  if (tag.type === 'string') {
    const bytes = wordsToBytes(words, tag.order === 'BADC' || tag.order === 'DCBA' ? 'BADC' : 'ABCD')
    let end = Math.min(bytes.length, tag.length ?? bytes.length)
    while (end > 0 && bytes[end - 1] === 0) end--
    return Buffer.from(bytes.subarray(0, end)).toString('utf8')
  }
  const raw = decodeRaw(tag.type, words, tag.order)
  return toEngineering(raw, tag.scale, tag.offset)
}

const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER)
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER)

/**
 * decodeTag for people and JSON: an unscaled int64/uint64 beyond ±2^53 (where a number rounds: 2^53+1 would read
 * 2^53) is its exact decimal digits as a string; every other value is decodeTag's. A scaled 64-bit tag is a
 * number, as any scaled value is.
 */
export function decodeTagExact(tag: Pick<ResolvedTag, 'type' | 'order' | 'scale' | 'offset' | 'length' | 'bit'>, words: readonly number[]): TagValue {
  if ((tag.type === 'int64' || tag.type === 'uint64') && tag.scale === 1 && tag.offset === 0) {
    const bytes = wordsToBytes(words, tag.order)
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    const exact = tag.type === 'int64' ? view.getBigInt64(0) : view.getBigUint64(0)
    return exact < SAFE_MIN || exact > SAFE_MAX ? exact.toString() : Number(exact)
  }
  return decodeTag(tag, words)
}

/** raw × scale + offset, without binary noise (215 × 0.1 is 21.5, not 21.500000000000004). */
export function toEngineering(raw: number, scale: number, offset: number): number {
  if (scale === 1 && offset === 0) return raw
  const v = raw * scale + offset
  if (!Number.isFinite(v)) return v
  const decimals = Math.min(15, Math.max(decimalsOf(scale), decimalsOf(offset)) + (Number.isInteger(raw) ? 0 : 9))
  return Number(v.toFixed(decimals))
}

function decimalsOf(x: number): number {
  const text = String(x)
  const exp = /e-(\d+)$/.exec(text)
  if (exp) return Number(exp[1]) + (text.split('e')[0].split('.')[1]?.length ?? 0)
  return text.split('.')[1]?.length ?? 0
}

/** The shortest decimal that is the same float32 (0.1f prints as 0.1, not 0.10000000149011612). */
export function shortestFloat32(f: number): number {
  if (!Number.isFinite(f) || f === 0) return f
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p))
    if (Math.fround(candidate) === f) return candidate
  }
  return f
}

/** The value a tag holds after a round trip through its registers: what a reader should see for `value`. */
export function registerValue(tag: Pick<ResolvedTag, 'type' | 'order' | 'scale' | 'offset' | 'length' | 'bit'>, value: TagValue): TagValue {
  if (tag.type === 'bool' || tag.type === 'bit') return Boolean(value)
  return decodeTag(tag, encodeTag(tag, value))
}
