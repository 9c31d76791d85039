import {escapeHtml} from './escape.js'

/**
 * A small line-chart renderer that writes SVG text, so the report needs no script, no library and no network,
 * and a chart can be checked in a unit test by reading its markup. x and y are linear in the values given; a
 * logarithmic axis is a transformed value with tick labels to match (the percentile plot does this).
 */

export interface Tick {
  value: number
  label: string
}

export interface AxisSpec {
  min: number
  max: number
  ticks: readonly Tick[]
  title: string
}

export interface Marker {
  x: number
  y: number
  /** Tooltip text (an SVG <title>). */
  title: string
}

export interface ChartSeries {
  label: string
  color: string
  /** SVG stroke-dasharray, e.g. "6 4" for a dashed line. */
  dash?: string
  width?: number
  /** null y breaks the line (a second with no samples). */
  points: ReadonlyArray<readonly [number, number | null]>
  markers?: readonly Marker[]
  /** Extra data-* attributes on the series group, for tests and for a reader of the markup. */
  data?: Record<string, string>
}

export interface ChartSpec {
  /** data-chart attribute, e.g. "percentile". */
  id: string
  title: string
  width?: number
  height?: number
  x: AxisSpec
  y: AxisSpec
  series: readonly ChartSeries[]
}

const MARGIN = {left: 88, right: 40, top: 16, bottom: 52}

/** Nice round ticks (1, 2, 5 × 10^k) covering [min, max]; the last tick is at or above max. */
export function niceTicks(min: number, max: number, target = 6): number[] {
  if (!(max > min)) max = min + 1
  const raw = (max - min) / Math.max(1, target)
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude
  const first = Math.floor(min / step) * step
  const ticks: number[] = []
  for (let v = first; v < max + step * 0.999; v += step) ticks.push(Number(v.toPrecision(12)))
  return ticks
}

export function renderLineChart(spec: ChartSpec): string {
  const width = spec.width ?? 960
  const height = spec.height ?? 400
  const plot = {x: MARGIN.left, y: MARGIN.top, w: width - MARGIN.left - MARGIN.right, h: height - MARGIN.top - MARGIN.bottom}
  const sx = (v: number) => plot.x + ((v - spec.x.min) / (spec.x.max - spec.x.min || 1)) * plot.w
  const sy = (v: number) => plot.y + plot.h - ((v - spec.y.min) / (spec.y.max - spec.y.min || 1)) * plot.h
  const f = (n: number) => n.toFixed(1)

  const grid: string[] = []
  for (const t of spec.y.ticks) {
    const y = f(sy(t.value))
    grid.push(`<line class="grid" x1="${f(plot.x)}" x2="${f(plot.x + plot.w)}" y1="${y}" y2="${y}"/>`)
    grid.push(`<text class="tick" x="${f(plot.x - 8)}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeHtml(t.label)}</text>`)
  }
  for (const t of spec.x.ticks) {
    const x = f(sx(t.value))
    grid.push(`<line class="grid" x1="${x}" x2="${x}" y1="${f(plot.y)}" y2="${f(plot.y + plot.h)}"/>`)
    grid.push(`<text class="tick" x="${x}" y="${f(plot.y + plot.h + 18)}" text-anchor="middle">${escapeHtml(t.label)}</text>`)
  }

  const series = spec.series.map((s) => {
    const d = pathData(s.points, sx, sy)
    const attrs = Object.entries({label: s.label, points: String(s.points.filter((p) => p[1] !== null).length), ...s.data})
      .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
      .join('')
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : ''
    const markers = (s.markers ?? [])
      .map((m) => `<circle class="marker" cx="${f(sx(m.x))}" cy="${f(sy(m.y))}" r="3.5" fill="${s.color}"><title>${escapeHtml(m.title)}</title></circle>`)
      .join('')
    return (
      `<g class="series"${attrs}><title>${escapeHtml(s.label)}</title>` +
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width ?? 2}"${dash} stroke-linejoin="round" stroke-linecap="round"/>${markers}</g>`
    )
  })

  return [
    `<svg class="chart" data-chart="${escapeHtml(spec.id)}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(spec.title)}" xmlns="http://www.w3.org/2000/svg">`,
    `<rect class="plot-area" x="${f(plot.x)}" y="${f(plot.y)}" width="${f(plot.w)}" height="${f(plot.h)}"/>`,
    ...grid,
    `<clipPath id="clip-${escapeHtml(spec.id)}"><rect x="${f(plot.x)}" y="${f(plot.y - 4)}" width="${f(plot.w + 4)}" height="${f(plot.h + 8)}"/></clipPath>`,
    `<g clip-path="url(#clip-${escapeHtml(spec.id)})">${series.join('')}</g>`,
    `<line class="axis" x1="${f(plot.x)}" x2="${f(plot.x + plot.w)}" y1="${f(plot.y + plot.h)}" y2="${f(plot.y + plot.h)}"/>`,
    `<line class="axis" x1="${f(plot.x)}" x2="${f(plot.x)}" y1="${f(plot.y)}" y2="${f(plot.y + plot.h)}"/>`,
    `<text class="axis-title" x="${f(plot.x + plot.w / 2)}" y="${height - 10}" text-anchor="middle">${escapeHtml(spec.x.title)}</text>`,
    `<text class="axis-title" transform="translate(16 ${f(plot.y + plot.h / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(spec.y.title)}</text>`,
    '</svg>',
  ].join('\n')
}

/** An HTML legend (swatch + label per series), outside the SVG so long run names wrap. */
export function renderLegend(series: readonly ChartSeries[]): string {
  const items = series.map((s) => {
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : ''
    const swatch = `<svg width="28" height="10" aria-hidden="true"><line x1="1" x2="27" y1="5" y2="5" stroke="${s.color}" stroke-width="${s.width ?? 2}"${dash}/></svg>`
    return `<li>${swatch}${escapeHtml(s.label)}</li>`
  })
  return `<ul class="legend">${items.join('')}</ul>`
}

function pathData(points: ChartSeries['points'], sx: (v: number) => number, sy: (v: number) => number): string {
  const parts: string[] = []
  /** Points in the current unbroken run; a run of one gets a zero-length segment, which a round cap shows as a dot. */
  let run = 0
  const endRun = () => {
    if (run === 1) parts.push('h0')
    run = 0
  }
  for (const [x, y] of points) {
    if (y === null) {
      endRun()
      continue
    }
    parts.push(`${run > 0 ? 'L' : 'M'}${sx(x).toFixed(1)} ${sy(y).toFixed(1)}`)
    run++
  }
  endRun()
  return parts.join('')
}
