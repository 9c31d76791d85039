import {formatMs} from '../metrics/format.js'
import {SPARK_LEVELS} from './sparkline.js'

/**
 * HdrHistogram's percentile plot drawn in a terminal: latency (y) against percentile on the log scale of
 * 1 / (1 − p) (x), so 90%, 99%, 99.9%, 99.99% are equally spaced and the tail gets the room it deserves. Each
 * column is a bar of block characters (eighths of a row), tallest at the max. Pure: lines of text.
 */

export interface PercentileChartOptions {
  /** Columns of the plot area (labels come on top). */
  width: number
  /** Rows of the plot area. */
  height: number
}

/** Nines from percentile: 90% -> 1, 99% -> 2, 100% -> Infinity. */
function ninesOf(p: number): number {
  return p >= 100 ? Number.POSITIVE_INFINITY : -Math.log10(1 - p / 100)
}

/** The curve's latency at `nines`, interpolated linearly between the points around it. */
function valueAt(points: ReadonlyArray<[number, number]>, nines: number): number {
  let prev = points[0]
  for (const pt of points) {
    const n = ninesOf(pt[0])
    if (n >= nines) {
      const pn = ninesOf(prev[0])
      if (!Number.isFinite(n) || n === pn) return pt[1]
      return prev[1] + ((pt[1] - prev[1]) * (nines - pn)) / (n - pn)
    }
    prev = pt
  }
  return points[points.length - 1][1]
}

const LABEL_WIDTH = 9

/**
 * Renders `points` ([percentile, ms], ascending, ending at the max as 100) as `height + 1` lines: the plot with
 * a latency scale on the left, and an axis line of percentile labels. Empty input gives one "no samples" line.
 */
export function percentileChart(points: ReadonlyArray<[number, number]>, opts: PercentileChartOptions): string[] {
  if (points.length === 0) return ['no samples yet']
  const width = Math.max(10, opts.width - LABEL_WIDTH)
  const height = Math.max(1, opts.height)
  const finite = points.filter(([p]) => p < 100)
  const maxNines = Math.max(1, Math.ceil(ninesOf(finite.length ? finite[finite.length - 1][0] : 90)))
  const max = Math.max(...points.map(([, v]) => v))
  const top = max > 0 ? max : 1
  const columns: number[] = []
  for (let x = 0; x < width; x++) {
    const nines = ((x + 0.5) / width) * maxNines
    // The last column is the maximum: the tail's end, as in HdrHistogram's plots.
    columns.push(x === width - 1 ? max : valueAt(points, nines))
  }
  const eighths = columns.map((v) => Math.round((Math.max(0, v) / top) * height * 8))
  const lines: string[] = []
  for (let row = height - 1; row >= 0; row--) {
    const label = row === height - 1 ? formatMs(top) : row === 0 ? formatMs(0) : ''
    const cells = eighths.map((e) => {
      const inRow = e - row * 8
      if (inRow >= 8) return SPARK_LEVELS[7]
      if (inRow <= 0) return row === 0 ? SPARK_LEVELS[0] : ' '
      return SPARK_LEVELS[inRow - 1]
    })
    lines.push(`${label.padStart(LABEL_WIDTH - 1)} ${cells.join('')}`)
  }
  // Axis: a label at the start of each nine.
  const axis = Array.from({length: width}, () => ' ')
  for (let n = 0; n <= maxNines; n++) {
    const text = n === 0 ? '0%' : `${(100 * (1 - 10 ** -n)).toFixed(Math.max(0, n - 2))}%`
    const at = Math.min(width - text.length, Math.round((n / maxNines) * width))
    if (axis.slice(at, at + text.length).every((ch) => ch === ' ')) for (let k = 0; k < text.length; k++) axis[at + k] = text[k]
  }
  lines.push(`${' '.repeat(LABEL_WIDTH)}${axis.join('')}`)
  return lines
}
