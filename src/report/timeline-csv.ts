import {writeFileSync} from 'node:fs'
import {stringify} from 'csv-stringify/sync'
import {IotdError} from '../errors.js'
import type {BenchResult} from '../bench/bench-result.js'

/**
 * The per-second timeline of a bench result as CSV, for `--timeline file.csv` and spreadsheets:
 *
 *   time,elapsed_s,sent_per_s,received_per_s,p50_ms,p99_ms
 *   2026-11-02T10:00:00.000Z,0,9998.2,9987.1,0.912,3.104
 *
 * `elapsed_s` counts from the first point; an unknown figure (no receiver, no samples that second) is an empty
 * cell, never 0. p50/p99 are of the run's headline distribution (see bench-result's headlineDistribution).
 */

export const TIMELINE_CSV_COLUMNS = ['time', 'elapsed_s', 'sent_per_s', 'received_per_s', 'p50_ms', 'p99_ms'] as const

export function formatTimelineCsv(result: BenchResult): string {
  const points = result.timeline
  const origin = points.length > 0 ? points[0].t : 0
  const rows = points.map((p) => [
    new Date(p.t).toISOString(),
    (p.t - origin) / 1000,
    round(p.sentPerSec, 1),
    p.receivedPerSec === null ? '' : round(p.receivedPerSec, 1),
    p.p50 === null ? '' : round(p.p50, 3),
    p.p99 === null ? '' : round(p.p99, 3),
  ])
  return stringify(rows, {header: true, columns: [...TIMELINE_CSV_COLUMNS], record_delimiter: '\n'})
}

export function writeTimelineCsv(file: string, result: BenchResult): void {
  const text = formatTimelineCsv(result)
  try {
    writeFileSync(file, text)
  } catch (error) {
    throw new IotdError(`cannot write the timeline to ${file}: ${(error as Error).message}`)
  }
}

/** Rates are per second over one second: a tenth is plenty; latencies keep µs resolution. */
function round(v: number, decimals: number): number {
  const f = 10 ** decimals
  return Math.round(v * f) / f
}
