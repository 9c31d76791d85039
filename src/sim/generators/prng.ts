/**
 * Seeded randomness for the simulator. Every random stream is keyed by a tuple such as
 * (scenario seed, fleet name, device index, field name), hashed to 128 bits of state for xoshiro128**, so a
 * device's streams do not depend on how many other devices or fleets exist, and the same seed replays
 * byte-identical payloads. Math.random is never used.
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Standard normal (mean 0, stddev 1). */
  gaussian(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  /** 32 random bits as an unsigned integer. */
  uint32(): number
}

/** FNV-1a over the UTF-16 code units of `text`, then a murmur3 finaliser: a well-mixed 32-bit hash. */
export function hashString(text: string, salt = 0): number {
  return fmix32(fnv1a((0x811c9dc5 ^ salt) >>> 0, text))
}

/** FNV-1a's state after `text`, continuing from `h` (so a common prefix can be hashed once). */
function fnv1a(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h
}

function fmix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** The key of a random stream; joined with a separator no name can contain. */
export function streamKey(parts: ReadonlyArray<string | number>): string {
  return parts.join('\u0000')
}

const UNIFORM_SALT = 0x9e3779b9

/** A uniform number in [0, 1) that is a pure function of the key (for one-off decisions such as anomaly share). */
export function hashUniform(parts: ReadonlyArray<string | number>): number {
  return hashString(streamKey(parts), UNIFORM_SALT) / 4294967296
}

/**
 * hashUniform([...prefix, n]) for many n: the FNV-1a state after the prefix is computed once, so a draw hashes only
 * the digits of n (per-message jitter hashed the whole joined key 100,000 times a second at high rates).
 */
export function hashUniformSeries(prefix: ReadonlyArray<string | number>): (n: number) => number {
  const afterPrefix = fnv1a((0x811c9dc5 ^ UNIFORM_SALT) >>> 0, `${streamKey(prefix)}\u0000`)
  return (n) => fmix32(fnv1a(afterPrefix, String(n))) / 4294967296
}

/** splitmix32: expands one 32-bit seed into a sequence of well-distributed words (used to seed xoshiro). */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

class Xoshiro128StarStar implements Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  private spare: number | undefined

  constructor(seed0: number, seed1: number) {
    const mixA = splitmix32(seed0)
    const mixB = splitmix32(seed1 ^ 0x5bd1e995)
    this.a = mixA()
    this.b = mixB()
    this.c = mixA()
    this.d = mixB()
    // The all-zero state is the one state xoshiro cannot leave.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1
  }

  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0
    const t = this.b << 9
    this.c ^= this.a
    this.d ^= this.b
    this.b ^= this.c
    this.a ^= this.d
    this.c ^= t
    this.d = rotl(this.d, 11)
    return result
  }

  next(): number {
    return this.uint32() / 4294967296
  }

  int(n: number): number {
    return Math.floor(this.next() * n)
  }

  /** Box–Muller, keeping the second value of each pair. */
  gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare
      this.spare = undefined
      return s
    }
    let u = 0
    while (u === 0) u = this.next()
    const v = this.next()
    const r = Math.sqrt(-2 * Math.log(u))
    this.spare = r * Math.sin(2 * Math.PI * v)
    return r * Math.cos(2 * Math.PI * v)
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

/** A random stream keyed by a tuple, e.g. createRng([seed, 'press', 7, 'temperature']). */
export function createRng(parts: ReadonlyArray<string | number>): Rng {
  const key = streamKey(parts)
  return new Xoshiro128StarStar(hashString(key, 0), hashString(key, 0x27d4eb2f))
}
