/**
 * Number, rate, size and latency formatting shared by every reporter (sim now, bench later). Pure: no colour,
 * no locale from the environment (grouping is always `1,234,567`, so logs and tests read the same everywhere).
 * Durations of a run (`20s`, `1m30s`) come from config/units' formatDuration; these helpers cover the rest.
 */

const GROUPING = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0})

export interface NumberFormatOptions {
  /** Digits after the decimal point for non-integers (default 1). Integers never get decimals. */
  decimals?: number
  /** Abbreviate with k/M/G once the value reaches 10,000 (for narrow live columns). */
  compact?: boolean
}

const COMPACT_STEPS: Array<[number, string]> = [
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'k'],
]

/** `1234567` -> `1,234,567`; `12.345` -> `12.3`; compact: `1234567` -> `1.23M`. Non-finite values print as `-`. */
export function formatNumber(n: number, opts: NumberFormatOptions = {}): string {
  if (!Number.isFinite(n)) return '-'
  if (opts.compact && Math.abs(n) >= 10_000) {
    for (const [step, suffix] of COMPACT_STEPS) {
      if (Math.abs(n) >= step) return `${trimFixed(n / step, 3)}${suffix}`
    }
  }
  if (Number.isInteger(n)) return GROUPING.format(n)
  const decimals = opts.decimals ?? 1
  if (Math.abs(n) >= 1000) return GROUPING.format(Math.round(n))
  return n.toFixed(decimals)
}

/** Three significant digits without trailing zeros after the point: 1.20 -> 1.2, 12.34 -> 12.3, 123.4 -> 123. */
function trimFixed(n: number, significant: number): string {
  const digitsBeforePoint = Math.max(1, Math.floor(Math.log10(Math.abs(n))) + 1)
  const decimals = Math.max(0, significant - digitsBeforePoint)
  return String(Number(n.toFixed(decimals)))
}

/**
 * A per-second rate: one decimal below 100 (`24.0/s`), whole numbers with grouping above (`12,345/s`).
 * `unit` names what is counted: formatRate(24, 'msg') -> `24.0 msg/s`.
 */
export function formatRate(perSecond: number, unit?: string): string {
  const value = formatRateValue(perSecond)
  return unit ? `${value} ${unit}/s` : `${value}/s`
}

/** The number part of formatRate, for table columns whose header already says `msg/s`. */
export function formatRateValue(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-'
  return Math.abs(perSecond) < 100 ? perSecond.toFixed(1) : GROUPING.format(Math.round(perSecond))
}

const IEC_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const

/** Binary units, as the size parser reads them: `512 B`, `4.0 KiB`, `98 MiB`, `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-'
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < IEC_UNITS.length - 1) {
    value /= 1024
    unit++
  }
  if (unit === 0) return `${Math.round(value)} B`
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${IEC_UNITS[unit]}`
}

/**
 * A latency in milliseconds with the precision a reader needs at that scale: `420µs`, `3.1ms`, `842ms`, `1.23s`,
 * `12.3s`. Latencies from the HDR histograms carry 3 significant digits, so more would be noise.
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '-'
  if (ms === 0) return '0ms'
  if (ms < 1) return `${Math.max(1, Math.round(ms * 1000))}µs`
  if (ms < 100) return `${ms.toFixed(1)}ms`
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)}s`
  return `${(ms / 1000).toFixed(1)}s`
}

/** A percentage without decimals from 10 up (`12%`, `250%`), one decimal below (`3.5%`). */
export function formatPercent(percent: number): string {
  if (!Number.isFinite(percent)) return '-'
  return percent < 10 ? `${percent.toFixed(1)}%` : `${Math.round(percent)}%`
}
