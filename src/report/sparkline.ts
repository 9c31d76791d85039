/** Unicode block characters from lowest to highest; index 0 is reserved for "nothing happened". */
export const SPARK_LEVELS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'] as const

/**
 * A one-line chart of the most recent `width` values (older values are cut from the left; a short history is
 * padded with spaces on the left so the newest value always sits at the right edge, as on a scrolling chart).
 * Values are scaled to the largest shown (or `max`, if given); zero and negative values draw as the lowest block,
 * any positive value as at least the second, so a trickle is visibly different from silence.
 */
export function sparkline(values: readonly number[], width: number, max?: number): string {
  if (width <= 0) return ''
  const shown = values.slice(-width).map((v) => (Number.isFinite(v) ? v : 0))
  const top = max ?? Math.max(0, ...shown)
  const highest = SPARK_LEVELS.length - 1
  const chars = shown.map((v) => {
    if (v <= 0 || top <= 0) return SPARK_LEVELS[0]
    const level = Math.ceil((Math.min(v, top) / top) * highest)
    return SPARK_LEVELS[Math.min(highest, Math.max(1, level))]
  })
  return ' '.repeat(width - chars.length) + chars.join('')
}
