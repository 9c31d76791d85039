/**
 * The latency header: a fixed 32-byte binary record at the start of every bench payload, so whoever receives the
 * message (an iotd subscriber in the same run, or `iotd bench sub` elsewhere) can tell who sent it, in which
 * order, when it was meant to leave and when it actually left.
 *
 * Layout (big-endian, network order, like the rest of MQTT):
 *
 *   offset  size  field
 *        0     2  magic 0xB1 0x7D: not printable ASCII, so a JSON or text payload is never mistaken for a header
 *        2     1  version (1)
 *        3     1  flags, reserved: written as 0, ignored by readers of version 1
 *        4     4  publisher id (uint32)
 *        8     8  sequence number (uint64), per publisher, starting at 0
 *       16     8  intended send time, µs (uint64)
 *       24     8  actual send time, µs (uint64)
 *
 * Why a full uint64 sequence and not uint32 (+ an epoch counter): one publisher at 1M msg/s wraps a uint32 after 72
 * minutes, and a wrap looks like a 4-billion-message reorder to the receiver; an epoch byte would need its own
 * wrap rules. A uint64 never wraps in practice. The 64-bit fields are written as two uint32 halves from a JS
 * number (exact up to 2^53, i.e. 285 years of 1M msg/s), which keeps BigInt out of the hot path.
 *
 * The clock ({@link benchNowMicros}): `performance.now()` plus a per-thread offset, in microseconds. `now()` is
 * monotonic with sub-µs resolution, but each thread has its own `performance.timeOrigin`, sampled from the wall
 * clock when the thread starts: measured here, two threads of one process disagree by 1–4 ms that way, which would
 * be the whole latency at bench rates. So the bench clock is anchored on the process-wide monotonic clock
 * (`process.hrtime`, CLOCK_MONOTONIC) instead: the main thread fixes one epoch ({@link benchClockEpoch}) and every
 * worker adopts it ({@link adoptBenchClock}); each thread then only measures its own `performance.now()` against
 * hrtime, which agrees to a microsecond. A latency computed from a header written in one worker and read in another
 * is then exact to the clock's resolution. Across processes and hosts the figure is wall-clock arithmetic: it is
 * only as good as the clock sync (NTP/PTP) between the machines.
 */

export const HEADER_MAGIC_0 = 0xb1
export const HEADER_MAGIC_1 = 0x7d
export const HEADER_VERSION = 1
export const HEADER_BYTES = 32

/** Offsets of each field from the start of the header. Add the header's offset in the payload/frame. */
export const HEADER_FIELD = {
  magic: 0,
  version: 2,
  flags: 3,
  publisher: 4,
  seq: 8,
  intendedUs: 16,
  sentUs: 24,
} as const

export interface LatencyHeader {
  publisher: number
  seq: number
  /** Intended send time, µs on the bench clock. Latency from here is the coordinated-omission-free figure. */
  intendedUs: number
  /** Actual send time, µs on the bench clock. Latency from here is the "uncorrected" figure. */
  sentUs: number
}

const TWO_32 = 0x1_0000_0000

const hrtimeMs = (): number => Number(process.hrtime.bigint()) / 1e6

/**
 * hrtime − performance.now() in this thread, in ms: the pair of readings with the tightest bracket of a few tries
 * (a thread descheduled between two readings would otherwise skew it; the first hrtime call is also slow).
 */
function monotonicMinusPerformanceMs(): number {
  let best = Number.POSITIVE_INFINITY
  let offset = 0
  for (let i = 0; i < 8; i++) {
    const before = performance.now()
    const hr = hrtimeMs()
    const after = performance.now()
    if (after - before < best) {
      best = after - before
      offset = hr - (before + after) / 2
    }
  }
  return offset
}

/** Wall-clock time (epoch ms) at which the monotonic clock read 0; fixed once per process by the main thread. */
let epochAtMonotonicZeroMs: number | undefined
/** benchNowMicros() = (performance.now() + offsetMs) * 1000 in this thread. */
let offsetMs = performance.timeOrigin

/** The epoch that anchors the bench clock of this process: fixed at the first call, handed to workers. */
export function benchClockEpoch(): number {
  if (epochAtMonotonicZeroMs === undefined) adoptBenchClock(Date.now() - hrtimeMs())
  return epochAtMonotonicZeroMs as number
}

/** Makes this thread read the same bench clock as the thread that gave `epoch` (see the module comment). */
export function adoptBenchClock(epoch: number): void {
  epochAtMonotonicZeroMs = epoch
  offsetMs = epoch + monotonicMinusPerformanceMs()
}

/** Microseconds on the bench clock (see the module comment): monotonic, shared by the threads of a process, wall-clock aligned. */
export function benchNowMicros(): number {
  return (performance.now() + offsetMs) * 1000
}

/** A `performance.now()` reading of this thread (ms) as bench-clock microseconds, e.g. a scheduler's intended time. */
export function benchMicrosAt(performanceNowMs: number): number {
  return (performanceNowMs + offsetMs) * 1000
}

/**
 * Writes a non-negative integer below 2^53 as a big-endian uint64 (two uint32 halves). Fractions are truncated.
 * Used by the hot path to patch sequence and time fields in place.
 */
export function writeUint64(buf: Buffer, offset: number, value: number): void {
  const hi = Math.floor(value / TWO_32)
  buf.writeUInt32BE(hi, offset)
  buf.writeUInt32BE(Math.floor(value - hi * TWO_32), offset + 4)
}

/** Reads a big-endian uint64 as a JS number (exact below 2^53). */
export function readUint64(buf: Buffer, offset: number): number {
  return buf.readUInt32BE(offset) * TWO_32 + buf.readUInt32BE(offset + 4)
}

/** Writes a whole header at `offset`. Throws a RangeError when the buffer is too short or a field out of range. */
export function writeHeader(buf: Buffer, offset: number, header: LatencyHeader): void {
  if (offset < 0 || offset + HEADER_BYTES > buf.length) {
    throw new RangeError(`latency header needs ${HEADER_BYTES} bytes at offset ${offset}; the buffer has ${buf.length}`)
  }
  for (const key of ['seq', 'intendedUs', 'sentUs'] as const) {
    const v = header[key]
    if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER)) throw new RangeError(`latency header ${key} must be in [0, 2^53): ${v}`)
  }
  buf[offset + HEADER_FIELD.magic] = HEADER_MAGIC_0
  buf[offset + HEADER_FIELD.magic + 1] = HEADER_MAGIC_1
  buf[offset + HEADER_FIELD.version] = HEADER_VERSION
  buf[offset + HEADER_FIELD.flags] = 0
  buf.writeUInt32BE(header.publisher, offset + HEADER_FIELD.publisher)
  writeUint64(buf, offset + HEADER_FIELD.seq, header.seq)
  writeUint64(buf, offset + HEADER_FIELD.intendedUs, header.intendedUs)
  writeUint64(buf, offset + HEADER_FIELD.sentUs, header.sentUs)
}

/** True when `buf` holds a version-1 header at `offset`: long enough, right magic, known version. */
export function hasHeader(buf: Buffer, offset = 0): boolean {
  return (
    offset >= 0 &&
    buf.length - offset >= HEADER_BYTES &&
    buf[offset] === HEADER_MAGIC_0 &&
    buf[offset + 1] === HEADER_MAGIC_1 &&
    buf[offset + HEADER_FIELD.version] === HEADER_VERSION
  )
}

/**
 * Fills `into` from the header at `offset` and returns true, or returns false for a payload that is not ours (too
 * short, wrong magic, unknown version). The subscriber's hot path reuses one target object per arrival.
 */
export function readHeaderInto(buf: Buffer, offset: number, into: LatencyHeader): boolean {
  if (!hasHeader(buf, offset)) return false
  into.publisher = buf.readUInt32BE(offset + HEADER_FIELD.publisher)
  into.seq = readUint64(buf, offset + HEADER_FIELD.seq)
  into.intendedUs = readUint64(buf, offset + HEADER_FIELD.intendedUs)
  into.sentUs = readUint64(buf, offset + HEADER_FIELD.sentUs)
  return true
}

/** The header at `offset`, or undefined for a payload that is not ours. Never throws. */
export function readHeader(buf: Buffer, offset = 0): LatencyHeader | undefined {
  const header: LatencyHeader = {publisher: 0, seq: 0, intendedUs: 0, sentUs: 0}
  return readHeaderInto(buf, offset, header) ? header : undefined
}

// ---------------------------------------------------------------------------------------------------------------
// Sequence accounting on the receiving side.

/**
 * What one arrival means for its publisher's sequence:
 * - `new`: the next expected number (highest + 1), or the first arrival when it is the start;
 * - `gap`: ahead of the next expected number: the numbers skipped are missing (lost so far, or still on their way);
 * - `out-of-order`: below the highest seen and not seen before: a late arrival that fills a gap;
 * - `duplicate`: seen before (QoS 1 redelivery, a broker or bridge sending twice);
 * - `stale`: too old to classify: more than `window` below the highest, or (with `start: 'first-seen'`) below
 *   the first number seen. It cannot be told apart from a duplicate, so it is counted on its own.
 */
export type Arrival = 'new' | 'gap' | 'out-of-order' | 'duplicate' | 'stale'

export interface SequenceStats {
  /** Every arrival, whatever its class. */
  received: number
  /** Distinct sequence numbers inside the tracked range: new + gap + out-of-order arrivals. */
  distinct: number
  duplicates: number
  outOfOrder: number
  /** Arrivals that jumped ahead (each may open a hole of any size). */
  gaps: number
  /** Arrivals too old to classify (see {@link Arrival}); not counted in `distinct`. */
  stale: number
  /** The sequence number the range starts at (0, or the first seen). -1 before the first arrival in first-seen mode. */
  start: number
  /** Highest sequence number seen, or start - 1 before any arrival (-1 in first-seen mode). */
  highest: number
  /**
   * Numbers in [start, highest] never seen: highest + 1 - start - distinct. At the end of a run this is the loss
   * (messages after the last one received are invisible to the receiver: the publisher's sent count tells those).
   * A stale arrival that was a late first copy, not a duplicate, makes this overstate the loss by one.
   */
  lost: number
}

export interface SequenceTrackerOptions {
  /**
   * Sequence numbers tracked below the highest, rounded up to a multiple of 32. Memory is window / 8 bytes per
   * publisher (8 KiB at the default 65,536). An arrival older than this is `stale`.
   */
  window?: number
  /**
   * Where the sequence starts: 0 (default; iotd publishers start at 0, so anything missing from the very first
   * message on is loss) or 'first-seen' (a subscriber joining a stream already running: numbers before the first
   * arrival are not ours to count).
   */
  start?: number | 'first-seen'
}

export const DEFAULT_SEQUENCE_WINDOW = 65_536

/**
 * Classifies the arrivals of one publisher's sequence in O(1) per arrival and bounded memory: a ring bitmap of
 * the last `window` sequence numbers (bit i set = number i seen), slid forward as the highest number grows.
 * Sliding clears the slots of numbers that leave the window, word by word, so a gap of any size costs at most
 * window / 32 word writes.
 */
export class SequenceTracker {
  private readonly bits: Uint32Array
  private readonly windowSize: number
  private startSeq: number
  private highest: number
  private received = 0
  private distinct = 0
  private duplicates = 0
  private outOfOrder = 0
  private gaps = 0
  private stale = 0

  constructor(options: SequenceTrackerOptions = {}) {
    const window = options.window ?? DEFAULT_SEQUENCE_WINDOW
    if (!Number.isInteger(window) || window < 32) throw new RangeError(`sequence window must be an integer >= 32: ${window}`)
    this.windowSize = Math.ceil(window / 32) * 32
    this.bits = new Uint32Array(this.windowSize / 32)
    const start = options.start ?? 0
    if (start !== 'first-seen' && !(Number.isInteger(start) && start >= 0)) {
      throw new RangeError(`sequence start must be 'first-seen' or an integer >= 0: ${start}`)
    }
    this.startSeq = start === 'first-seen' ? -1 : start
    this.highest = start === 'first-seen' ? -1 : start - 1
  }

  get window(): number {
    return this.windowSize
  }

  /** Records one arrival and says what it was. `seq` is a non-negative integer (from the header). */
  record(seq: number): Arrival {
    this.received++
    if (this.startSeq < 0) {
      this.startSeq = seq
      this.highest = seq - 1
    }
    if (seq > this.highest) {
      const expected = this.highest + 1
      this.advanceTo(seq)
      this.setBit(seq)
      this.distinct++
      if (seq === expected) return 'new'
      this.gaps++
      return 'gap'
    }
    if (seq < this.startSeq || seq <= this.highest - this.windowSize) {
      this.stale++
      return 'stale'
    }
    if (this.testBit(seq)) {
      this.duplicates++
      return 'duplicate'
    }
    this.setBit(seq)
    this.distinct++
    this.outOfOrder++
    return 'out-of-order'
  }

  stats(): SequenceStats {
    const lost = this.startSeq < 0 ? 0 : this.highest + 1 - this.startSeq - this.distinct
    return {
      received: this.received,
      distinct: this.distinct,
      duplicates: this.duplicates,
      outOfOrder: this.outOfOrder,
      gaps: this.gaps,
      stale: this.stale,
      start: this.startSeq,
      highest: this.highest,
      lost,
    }
  }

  /** Moves the window so its top is `seq`: clears the slots of the numbers highest+1 .. seq (their slots' old owners leave). */
  private advanceTo(seq: number): void {
    const from = this.highest + 1
    const count = seq - from + 1
    this.highest = seq
    if (count >= this.windowSize) {
      this.bits.fill(0)
      return
    }
    let slot = from % this.windowSize
    let left = count
    while (left > 0) {
      const bit = slot & 31
      const word = slot >>> 5
      if (bit === 0 && left >= 32) {
        this.bits[word] = 0
        slot += 32
        left -= 32
      } else {
        const n = Math.min(32 - bit, left)
        // n (< 32) ones starting at `bit`: a whole word with 32 left is the branch above.
        const mask = ((1 << n) - 1) << bit
        this.bits[word] &= ~mask
        slot += n
        left -= n
      }
      if (slot >= this.windowSize) slot -= this.windowSize
    }
  }

  private setBit(seq: number): void {
    const slot = seq % this.windowSize
    this.bits[slot >>> 5] |= 1 << (slot & 31)
  }

  private testBit(seq: number): boolean {
    const slot = seq % this.windowSize
    return (this.bits[slot >>> 5] & (1 << (slot & 31))) !== 0
  }
}

/** One {@link SequenceTracker} per publisher id, created on first arrival, with totals across publishers. */
export class PublisherSequences {
  private readonly trackers = new Map<number, SequenceTracker>()
  constructor(private readonly options: SequenceTrackerOptions = {}) {}

  record(publisher: number, seq: number): Arrival {
    let tracker = this.trackers.get(publisher)
    if (!tracker) {
      tracker = new SequenceTracker(this.options)
      this.trackers.set(publisher, tracker)
    }
    return tracker.record(seq)
  }

  get publishers(): number {
    return this.trackers.size
  }

  tracker(publisher: number): SequenceTracker | undefined {
    return this.trackers.get(publisher)
  }

  /** Counts summed over publishers (start/highest are per publisher and left out). */
  totals(): Omit<SequenceStats, 'start' | 'highest'> {
    const t = {received: 0, distinct: 0, duplicates: 0, outOfOrder: 0, gaps: 0, stale: 0, lost: 0}
    for (const tracker of this.trackers.values()) {
      const s = tracker.stats()
      t.received += s.received
      t.distinct += s.distinct
      t.duplicates += s.duplicates
      t.outOfOrder += s.outOfOrder
      t.gaps += s.gaps
      t.stale += s.stale
      t.lost += s.lost
    }
    return t
  }
}

/** The inverse of {@link benchMicrosAt}: the `performance.now()` reading of this thread at bench time `us`. */
export function performanceMsAt(benchMicros: number): number {
  return benchMicros / 1000 - offsetMs
}
