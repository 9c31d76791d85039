import {describe, expect, it} from 'vitest'
import {
  benchNowMicros,
  HEADER_BYTES,
  HEADER_FIELD,
  hasHeader,
  PublisherSequences,
  readHeader,
  readHeaderInto,
  readUint64,
  SequenceTracker,
  writeHeader,
  writeUint64,
  type Arrival,
  type LatencyHeader,
} from '../../../src/bench/latency-header.js'
import {seededRandom} from '../../helpers/seeded-random.js'

const sample: LatencyHeader = {publisher: 0xdead_beef, seq: 2 ** 40 + 7, intendedUs: 1_763_761_234_567_890, sentUs: 1_763_761_234_568_001}

describe('latency header codec', () => {
  it('round-trips every field at any offset, in the documented layout', () => {
    const buf = Buffer.alloc(5 + HEADER_BYTES + 3, 0xee)
    writeHeader(buf, 5, sample)
    expect(readHeader(buf, 5)).toEqual(sample)
    expect([...buf.subarray(5, 9)]).toEqual([0xb1, 0x7d, 1, 0])
    expect(buf.readUInt32BE(5 + HEADER_FIELD.publisher)).toBe(0xdead_beef)
    expect(buf.readUInt32BE(5 + HEADER_FIELD.seq)).toBe(2 ** 8)
    expect(buf.readUInt32BE(5 + HEADER_FIELD.seq + 4)).toBe(7)
    // bytes outside the header are untouched
    expect(buf[4]).toBe(0xee)
    expect(buf[5 + HEADER_BYTES]).toBe(0xee)
  })

  it('carries 64-bit values exactly up to 2^53 - 1 and truncates fractions', () => {
    const buf = Buffer.alloc(8)
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1_763_761_234_567_890, Number.MAX_SAFE_INTEGER]) {
      writeUint64(buf, 0, v)
      expect(readUint64(buf, 0)).toBe(v)
      expect(buf.readBigUInt64BE(0)).toBe(BigInt(v))
    }
    writeUint64(buf, 0, 1_763_761_234_567_890.75)
    expect(readUint64(buf, 0)).toBe(1_763_761_234_567_890)
  })

  it('says "not ours" for short, foreign or future-version payloads, without throwing', () => {
    const good = Buffer.alloc(HEADER_BYTES)
    writeHeader(good, 0, sample)
    expect(readHeader(good.subarray(0, HEADER_BYTES - 1))).toBeUndefined()
    expect(readHeader(good, 1)).toBeUndefined()
    expect(readHeader(good, -1)).toBeUndefined()
    expect(readHeader(Buffer.from(JSON.stringify({temp: 21.5, note: 'x'.repeat(40)})))).toBeUndefined()
    const wrongMagic = Buffer.from(good)
    wrongMagic[1] = 0x7e
    expect(readHeader(wrongMagic)).toBeUndefined()
    const future = Buffer.from(good)
    future[HEADER_FIELD.version] = 2
    expect(hasHeader(future)).toBe(false)
    expect(readHeader(Buffer.alloc(0))).toBeUndefined()
    const rnd = seededRandom(3)
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.from(Array.from({length: Math.floor(rnd() * 64)}, () => Math.floor(rnd() * 256)))
      expect(() => readHeader(junk)).not.toThrow()
    }
  })

  it('reads into a reused object for the hot path', () => {
    const buf = Buffer.alloc(HEADER_BYTES)
    writeHeader(buf, 0, sample)
    const into: LatencyHeader = {publisher: 0, seq: 0, intendedUs: 0, sentUs: 0}
    expect(readHeaderInto(buf, 0, into)).toBe(true)
    expect(into).toEqual(sample)
    expect(readHeaderInto(Buffer.alloc(HEADER_BYTES), 0, into)).toBe(false)
  })

  it('refuses to write past the buffer or out-of-range values', () => {
    expect(() => writeHeader(Buffer.alloc(HEADER_BYTES - 1), 0, sample)).toThrow(RangeError)
    expect(() => writeHeader(Buffer.alloc(HEADER_BYTES), 1, sample)).toThrow(RangeError)
    expect(() => writeHeader(Buffer.alloc(HEADER_BYTES), 0, {...sample, seq: -1})).toThrow(/seq/)
    expect(() => writeHeader(Buffer.alloc(HEADER_BYTES), 0, {...sample, sentUs: 2 ** 53})).toThrow(/sentUs/)
  })

  it('the bench clock is in µs, wall-clock aligned and never goes back', () => {
    const a = benchNowMicros()
    expect(Math.abs(a - Date.now() * 1000)).toBeLessThan(1_000_000)
    let last = a
    for (let i = 0; i < 10_000; i++) {
      const t = benchNowMicros()
      expect(t).toBeGreaterThanOrEqual(last)
      last = t
    }
  })
})

/** A straightforward model of the tracker's rules with unbounded memory, to check the bitmap against. */
function referenceClassifier(window: number, start: number | 'first-seen' = 0) {
  const seen = new Set<number>()
  let first = start === 'first-seen' ? -1 : start
  let highest = first - 1
  return (seq: number): Arrival => {
    if (first < 0) {
      first = seq
      highest = seq - 1
    }
    if (seq > highest) {
      const kind = seq === highest + 1 ? 'new' : 'gap'
      highest = seq
      seen.add(seq)
      return kind
    }
    if (seq < first || seq <= highest - window) return 'stale'
    if (seen.has(seq)) return 'duplicate'
    seen.add(seq)
    return 'out-of-order'
  }
}

/** Reorders so that no element moves more than `reach` places: sort by position plus a random offset. */
function shuffleLocally(seqs: number[], rnd: () => number, reach: number): number[] {
  return seqs
    .map((seq, i) => ({seq, key: i + rnd() * reach}))
    .sort((a, b) => a.key - b.key)
    .map((e) => e.seq)
}

describe('SequenceTracker', () => {
  it('an in-order stream is all new and loses nothing', () => {
    const t = new SequenceTracker()
    for (let s = 0; s < 1000; s++) expect(t.record(s)).toBe('new')
    expect(t.stats()).toMatchObject({received: 1000, distinct: 1000, duplicates: 0, outOfOrder: 0, gaps: 0, stale: 0, highest: 999, lost: 0})
  })

  it('counts dropped messages exactly, including a loss at the very start', () => {
    const t = new SequenceTracker()
    const dropped = new Set([0, 1, 17, 500, 501, 502, 998])
    const kinds: Arrival[] = []
    for (let s = 0; s < 1000; s++) if (!dropped.has(s)) kinds.push(t.record(s))
    expect(kinds.filter((k) => k === 'gap')).toHaveLength(4) // after 0-1, 17, 500-502, 998
    expect(t.stats()).toMatchObject({received: 993, distinct: 993, gaps: 4, lost: 7, highest: 999})
  })

  it('a late copy fills its gap: out-of-order, and the loss goes back down', () => {
    const t = new SequenceTracker()
    expect([0, 1, 3, 4].map((s) => t.record(s))).toEqual(['new', 'new', 'gap', 'new'])
    expect(t.stats().lost).toBe(1)
    expect(t.record(2)).toBe('out-of-order')
    expect(t.record(2)).toBe('duplicate')
    expect(t.record(4)).toBe('duplicate')
    expect(t.stats()).toMatchObject({received: 7, distinct: 5, duplicates: 2, outOfOrder: 1, lost: 0})
  })

  it('shuffled, duplicated and dropped sequences: every arrival classified as the unbounded model does', () => {
    const rnd = seededRandom(11)
    for (const window of [32, 64, 96, 1024]) {
      const t = new SequenceTracker({window})
      const model = referenceClassifier(window)
      const n = 20_000
      let stream: number[] = []
      for (let s = 0; s < n; s++) {
        const r = rnd()
        if (r < 0.03) continue // dropped
        stream.push(s)
        if (r > 0.98) stream.push(s) // duplicated right away
      }
      stream = shuffleLocally(stream, rnd, 40) // reordered, sometimes past the smaller windows
      for (let i = 0; i < 200; i++) stream.splice(Math.floor(rnd() * stream.length), 0, Math.floor(rnd() * n)) // late duplicates anywhere
      // occasional big jumps forward clear the whole window
      stream.push(n + 5 * window, n + 5 * window + 1, n + 5 * window - 3, n + 20 * window)
      for (const s of stream) expect(t.record(s)).toBe(model(s))
      const st = t.stats()
      expect(st.received).toBe(stream.length)
      expect(st.received).toBe(st.distinct + st.duplicates + st.stale)
      expect(st.distinct + st.lost).toBe(st.highest + 1)
    }
  })

  it('with a window wide enough, a shuffled stream has exact loss and duplicate counts', () => {
    const rnd = seededRandom(5)
    const t = new SequenceTracker({window: 4096})
    const n = 50_000
    const dropped = new Set<number>()
    let stream: number[] = []
    let dups = 0
    for (let s = 0; s < n - 1; s++) {
      if (rnd() < 0.01) {
        dropped.add(s)
        continue
      }
      stream.push(s)
      if (rnd() < 0.01) {
        stream.push(s)
        dups++
      }
    }
    stream = shuffleLocally(stream, rnd, 500)
    stream.push(n - 1)
    for (const s of stream) t.record(s)
    expect(t.stats()).toMatchObject({highest: n - 1, lost: dropped.size, duplicates: dups, stale: 0, received: stream.length})
    expect(t.stats().outOfOrder).toBeGreaterThan(0)
  })

  it('arrivals older than the window are stale, not guessed', () => {
    const t = new SequenceTracker({window: 64})
    expect(t.window).toBe(64)
    t.record(0)
    t.record(200)
    expect(t.record(100)).toBe('stale') // 200 - 64 = 136
    expect(t.record(137)).toBe('out-of-order')
    expect(t.record(136)).toBe('stale')
    expect(t.stats()).toMatchObject({stale: 2, distinct: 3, lost: 198})
  })

  it("'first-seen' starts the range at the first arrival", () => {
    const t = new SequenceTracker({start: 'first-seen'})
    expect(t.stats()).toMatchObject({start: -1, highest: -1, lost: 0})
    expect(t.record(1_000_000)).toBe('new')
    expect(t.record(999_999)).toBe('stale')
    expect(t.record(1_000_002)).toBe('gap')
    expect(t.stats()).toMatchObject({start: 1_000_000, highest: 1_000_002, lost: 1, stale: 1})
  })

  it('rounds the window up to whole words and rejects nonsense options', () => {
    expect(new SequenceTracker({window: 33}).window).toBe(64)
    expect(() => new SequenceTracker({window: 8})).toThrow(RangeError)
    expect(() => new SequenceTracker({start: -1})).toThrow(RangeError)
  })

  it('tracks sequences near 2^53 (a long run never wraps)', () => {
    const t = new SequenceTracker({window: 64, start: 'first-seen'})
    const base = Number.MAX_SAFE_INTEGER - 100
    for (let s = base; s < base + 50; s += 2) t.record(s)
    expect(t.record(base + 4)).toBe('duplicate')
    expect(t.stats().lost).toBe(24)
    expect(t.record(base + 5)).toBe('out-of-order')
    expect(t.stats().lost).toBe(23)
  })
})

describe('PublisherSequences', () => {
  it('keeps one sequence per publisher and sums them', () => {
    const p = new PublisherSequences()
    for (let s = 0; s < 10; s++) {
      p.record(1, s)
      if (s !== 4) p.record(2, s)
    }
    expect(p.record(2, 3)).toBe('duplicate')
    expect(p.publishers).toBe(2)
    expect(p.tracker(2)?.stats().lost).toBe(1)
    expect(p.tracker(3)).toBeUndefined()
    expect(p.totals()).toEqual({received: 20, distinct: 19, duplicates: 1, outOfOrder: 0, gaps: 1, stale: 0, lost: 1})
  })
})
