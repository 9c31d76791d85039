/** Partial-cell blocks, one eighth to seven eighths of a cell, so a short bar still moves smoothly. */
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'] as const
const FULL = '█'

export interface BarParts {
  /** The filled part, full blocks and at most one partial block. */
  filled: string
  /** The unfilled rest (light shade), so the bar's extent is readable without colour. */
  empty: string
}

/** A horizontal bar of exactly `width` cells for a fraction in [0, 1] (clamped), split so each part can be coloured. */
export function progressBar(fraction: number, width: number): BarParts {
  if (width <= 0) return {filled: '', empty: ''}
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0
  const eighths = Math.round(f * width * 8)
  const full = Math.floor(eighths / 8)
  const partial = EIGHTHS[eighths % 8]
  const filled = FULL.repeat(full) + partial
  const used = full + (partial ? 1 : 0)
  return {filled, empty: '░'.repeat(width - used)}
}
