import hdr from 'hdr-histogram-js'
import type {Histogram} from 'hdr-histogram-js'

/**
 * The one histogram wrapper. Values are recorded in microseconds (1 µs – 60 s, 3 significant digits), in
 * WebAssembly mode (~7x faster than the JS implementation here). Histograms cross thread and process boundaries
 * as compressed base64, which merges losslessly.
 */

export const HISTOGRAM_LOWEST_US = 1
export const HISTOGRAM_HIGHEST_US = 60_000_000
export const HISTOGRAM_DIGITS = 3

let wasmReady = false
function ensureWasm(): void {
  if (!wasmReady) {
    hdr.initWebAssemblySync()
    wasmReady = true
  }
}

export type LatencyHistogram = Histogram

export function createHistogram(): LatencyHistogram {
  ensureWasm()
  return hdr.build({
    lowestDiscernibleValue: HISTOGRAM_LOWEST_US,
    highestTrackableValue: HISTOGRAM_HIGHEST_US,
    numberOfSignificantValueDigits: HISTOGRAM_DIGITS,
    bitBucketSize: 'packed',
    useWebAssembly: true,
  })
}

/** Records a value in microseconds, clamped into the trackable range so an outlier is counted, never lost. */
export function recordMicros(h: LatencyHistogram, micros: number): void {
  const v = micros < HISTOGRAM_LOWEST_US ? HISTOGRAM_LOWEST_US : micros > HISTOGRAM_HIGHEST_US ? HISTOGRAM_HIGHEST_US : Math.round(micros)
  h.recordValue(v)
}

export function encodeHistogram(h: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(h)
}

/**
 * Decodes an encoded histogram and adds it into `into` (created if absent) and any `more` targets, decoding once.
 * Returns `into`.
 */
export function mergeEncoded(encoded: string, into?: LatencyHistogram, ...more: LatencyHistogram[]): LatencyHistogram {
  ensureWasm()
  const target = into ?? createHistogram()
  const decoded = hdr.decodeFromCompressedBase64(encoded, 'packed', true)
  target.add(decoded)
  for (const other of more) other.add(decoded)
  decoded.destroy()
  return target
}

export interface LatencySummary {
  count: number
  /** All in milliseconds. */
  min: number
  mean: number
  p50: number
  p90: number
  p99: number
  p999: number
  max: number
}

export const PERCENTILES = [50, 90, 99, 99.9] as const

export function summarize(h: LatencyHistogram): LatencySummary {
  const ms = (us: number) => us / 1000
  if (h.totalCount === 0) return {count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}
  return {
    count: h.totalCount,
    min: ms(h.minNonZeroValue),
    mean: ms(h.mean),
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
  }
}
