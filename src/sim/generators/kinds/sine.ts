import {z} from 'zod'
import {duration} from '../../../config/units-schema.js'
import {defineGenerator, modal} from '../generator-kind.js'
import {clamp, quantize} from '../numeric.js'
import {nonNegative, resolution} from '../param-types.js'

export const sineGenerator = defineGenerator({
  kind: 'sine',
  doc: `A periodic signal between \`min\` and \`max\` with \`period\`, optional \`phase\` (a duration) and gaussian \`noise\`. It follows absolute time, so all devices share the cycle. \`daily\`: 24 hourly multipliers (interpolated, in the fleet's \`timezone\`, UTC without one) applied to the value and its noise — a daily load profile; bounds then scale with it: with \`lo\`/\`hi\` the lowest/highest multiplier,
\`[min(min × lo, min × hi), max(max × lo, max × hi)]\` (so a negative \`min\` still reaches \`min × hi\`).`,
  example: `flow: {kind: sine, min: 8, max: 14, period: 1h, noise: 0.2, resolution: 0.1}
people:
  kind: sine
  min: 40
  max: 40
  period: 1d
  resolution: 1
  daily: [0, 0, 0, 0, 0, 0, 0.1, 0.4, 0.9, 1, 1, 0.9, 0.6, 0.9, 1, 1, 0.8, 0.4, 0.1, 0, 0, 0, 0, 0]`,
  params: {
    min: z.number(),
    max: z.number(),
    period: duration({positive: true}),
    phase: duration().optional(),
    noise: nonNegative('noise').optional(),
    daily: z.array(nonNegative('a daily multiplier')).length(24, 'daily needs 24 hourly multipliers (00:00..23:00 local time)').optional(),
    resolution,
  },
  defaults: {phase: 0, noise: 0},
  numeric: true,
  modal: true,
  create(spec, {rng}) {
    const params = modal(spec)
    return {
      resolution: spec.resolution,
      max: spec.daily ? undefined : spec.max,
      next(ctx) {
        const p = params(ctx.mode)
        const mid = (p.min + p.max) / 2
        const amp = (p.max - p.min) / 2
        // Absolute time, so every device of a fleet follows the same cycle (phase shifts it).
        const angle = (2 * Math.PI * (ctx.tsMs + p.phase)) / p.period
        const noise = p.noise ? p.noise * rng.gaussian() : 0
        if (!p.daily) return quantize(clamp(mid + amp * Math.sin(angle) + noise, p.min, p.max), p.resolution)
        // With a daily profile the bounds scale with it. A negative min is lowest under the highest multiplier, so
        // each bound takes the more extreme of its two scalings.
        // The noise scales with the profile too: a building at multiplier 0 reads 0, not ±noise.
        const m = dailyMultiplier(p.daily, ctx.localMs ?? ctx.tsMs)
        const v = (mid + amp * Math.sin(angle) + noise) * m
        const lo = Math.min(...p.daily)
        const hi = Math.max(...p.daily)
        return quantize(clamp(v, Math.min(p.min * lo, p.min * hi), Math.max(p.max * lo, p.max * hi)), p.resolution)
      },
    }
  },
})

/** The daily profile at a (local, calendar.ts) time, interpolated linearly between the hourly values. */
export function dailyMultiplier(daily: readonly number[], tsMs: number): number {
  const hour = (((tsMs / 3_600_000) % 24) + 24) % 24
  const i = Math.floor(hour)
  const f = hour - i
  return daily[i] * (1 - f) + daily[(i + 1) % 24] * f
}
