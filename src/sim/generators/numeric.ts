/**
 * Sensor-like numbers: quantised to the sensor's resolution, clamped to its range, and printed without
 * binary float noise (65.30000000000001 becomes 65.3).
 */

/** Decimals used when a continuous generator has no resolution. */
export const DEFAULT_DECIMALS = 3

/** Number of decimals a resolution has (0.1 → 1, 0.25 → 2, 5 → 0, 1e-4 → 4). */
export function decimalsOf(resolution: number): number {
  const text = String(resolution)
  const exp = /e-(\d+)$/.exec(text)
  if (exp) return Number(exp[1]) + (text.split('e')[0].split('.')[1]?.length ?? 0)
  return text.split('.')[1]?.length ?? 0
}

export function clamp(x: number, min: number | undefined, max: number | undefined): number {
  if (min !== undefined && x < min) return min
  if (max !== undefined && x > max) return max
  return x
}

/** Rounds to a multiple of `resolution` (or to DEFAULT_DECIMALS) and strips float noise. */
export function quantize(x: number, resolution: number | undefined): number {
  if (!Number.isFinite(x)) return x
  if (resolution === undefined) return Number(x.toFixed(DEFAULT_DECIMALS))
  return Number((Math.round(x / resolution) * resolution).toFixed(decimalsOf(resolution)))
}

/** Quantise then clamp, so the bounds hold even when rounding would cross them. */
export function shapeReading(x: number, p: {min?: number; max?: number; resolution?: number}): number {
  return clamp(quantize(x, p.resolution), p.min, p.max)
}
