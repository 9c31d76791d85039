import {writeFileSync} from 'node:fs'
import hdr from 'hdr-histogram-js'
import type {LatencyDistribution} from '../metrics/observation.js'
import {IotdError, UsageError} from '../errors.js'
import {headlineDistribution, type BenchResult} from '../bench/bench-result.js'

/**
 * HdrHistogram's percentile distribution text (`.hgrm`), the format its online plotter
 * (hdrhistogram.github.io/HdrHistogram/plotFiles.html) and HdrHistogram's own tools read:
 *
 *          Value     Percentile TotalCount 1/(1-Percentile)
 *
 *          0.370 0.000000000000          1           1.00
 *          ...
 *        370.175 1.000000000000      10000
 *   #[Mean    =      185.190, StdDeviation   =      106.810]
 *   #[Max     =      370.000, Total count    =        10000]
 *   #[Buckets =           16, SubBuckets     =         2048]
 *
 * hdr-histogram-js's outputPercentileDistribution writes exactly this; the histograms hold microseconds, so a
 * scaling ratio of 1000 prints milliseconds with µs resolution. Only its JavaScript histogram formats correctly:
 * the WebAssembly one (3.0.1) drops leading zeros of the fraction (1.077 ms prints as `1.770`) and carries badly
 * (19.9995 prints as `19.100`). So the encoded histogram is decoded here into a JS histogram, once, for printing;
 * everything else goes through metrics/histogram.ts.
 */

/** Percentile rows per halving of the distance to 100%, HdrHistogram's default. */
export const HGRM_TICKS_PER_HALF_DISTANCE = 5
const MICROS_PER_MS = 1000

/** The .hgrm text of one encoded histogram (µs), values in milliseconds. */
export function formatHgrm(encoded: string, ticksPerHalfDistance = HGRM_TICKS_PER_HALF_DISTANCE): string {
  const h = hdr.decodeFromCompressedBase64(encoded, 'packed', false)
  try {
    return h.outputPercentileDistribution(ticksPerHalfDistance, MICROS_PER_MS)
  } finally {
    h.destroy()
  }
}

/**
 * The .hgrm text of a result's distribution: by default the one its mode is judged by (latency, ack in
 * publish-only mode, connect in connect mode). A distribution the run did not record is a usage error.
 */
export function hgrmForResult(result: BenchResult, distribution: LatencyDistribution = headlineDistribution(result.meta.mode)): string {
  const h = result.histograms[distribution]
  if (!h) {
    const recorded = Object.keys(result.histograms)
    throw new UsageError(`this ${result.meta.mode} run recorded no ${distribution} distribution`, [
      recorded.length ? `choose one it recorded: ${recorded.join(', ')}` : 'the run recorded no latency at all',
    ])
  }
  try {
    return formatHgrm(h.encoded)
  } catch (error) {
    throw new UsageError(`histograms.${distribution}.encoded is not a readable HDR histogram (${(error as Error).message})`)
  }
}

/** Writes the .hgrm file for `iotd bench --hgrm file` (and `iotd report show --hgrm`). */
export function writeHgrm(file: string, result: BenchResult, distribution?: LatencyDistribution): void {
  const text = hgrmForResult(result, distribution)
  try {
    writeFileSync(file, text)
  } catch (error) {
    throw new IotdError(`cannot write the percentile distribution to ${file}: ${(error as Error).message}`)
  }
}

/** One row of an .hgrm file. */
export interface HgrmRow {
  valueMs: number
  /** 0–1. */
  percentile: number
  totalCount: number
  /** 1/(1-percentile); Infinity on the last (100%) row. */
  inverse: number
}

/** Reads the rows back (the test of the writer, and what a plotter does). Comment and header lines are skipped. */
export function parseHgrm(text: string): HgrmRow[] {
  const rows: HgrmRow[] = []
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/)
    if (parts.length < 3 || !/^\d/.test(parts[0])) continue
    const [value, percentile, count, inverse] = parts
    rows.push({valueMs: Number(value), percentile: Number(percentile), totalCount: Number(count), inverse: inverse === undefined ? Infinity : Number(inverse)})
  }
  return rows
}
