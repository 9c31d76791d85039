import {z} from 'zod'
import {defineGenerator, modal} from '../generator-kind.js'
import {clamp, shapeReading} from '../numeric.js'
import {nonNegative, resolution} from '../param-types.js'

export const walkGenerator = defineGenerator({
  kind: 'walk',
  doc: `A mean-reverting random walk (Ornstein–Uhlenbeck): \`mean\`, \`theta\` (reversion per second; 0 = plain random walk), \`sigma\` (volatility per √s), optional \`start\`, \`min\`, \`max\`. It uses the real time between messages, so irregular intervals keep the same statistics.`,
  example: `temperature: {kind: walk, mean: 65, theta: 0.05, sigma: 0.4, start: 20, min: 20, max: 120, resolution: 0.1}`,
  params: {
    mean: z.number(),
    theta: nonNegative('theta').meta({description: 'Mean-reversion rate per second (0 = a plain random walk).'}),
    sigma: nonNegative('sigma').meta({description: 'Volatility per square-root second.'}),
    start: z.number().optional().meta({description: 'The first value (default: `mean`).'}),
    min: z.number().optional(),
    max: z.number().optional(),
    resolution,
  },
  numeric: true,
  modal: true,
  create(spec, {rng}) {
    const params = modal(spec)
    let x: number | undefined
    return {
      resolution: spec.resolution,
      max: spec.max,
      next(ctx) {
        const p = params(ctx.mode)
        if (x === undefined) {
          x = p.start ?? p.mean
        } else if (ctx.dtS > 0) {
          // Exact Ornstein–Uhlenbeck transition over dt, so irregular intervals keep the same statistics.
          if (p.theta > 0) {
            const decay = Math.exp(-p.theta * ctx.dtS)
            x = p.mean + (x - p.mean) * decay + p.sigma * Math.sqrt((1 - decay * decay) / (2 * p.theta)) * rng.gaussian()
          } else {
            x += p.sigma * Math.sqrt(ctx.dtS) * rng.gaussian()
          }
        }
        x = clamp(x, p.min, p.max)
        return shapeReading(x, p)
      },
    }
  },
})
