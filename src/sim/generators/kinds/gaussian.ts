import {z} from 'zod'
import {defineGenerator, modal} from '../generator-kind.js'
import {shapeReading} from '../numeric.js'
import {nonNegative, resolution} from '../param-types.js'

export const gaussianGenerator = defineGenerator({
  kind: 'gaussian',
  doc: `Normal noise: \`mean\`, \`stddev\` (>= 0), optional \`min\`/\`max\`.`,
  example: `vibration: {kind: gaussian, mean: 2.5, stddev: 0.3, min: 0, resolution: 0.01}`,
  params: {mean: z.number(), stddev: nonNegative('stddev'), min: z.number().optional(), max: z.number().optional(), resolution},
  numeric: true,
  modal: true,
  create(spec, {rng}) {
    const params = modal(spec)
    return {
      resolution: spec.resolution,
      max: spec.max,
      next(ctx) {
        const p = params(ctx.mode)
        return shapeReading(p.mean + p.stddev * rng.gaussian(), p)
      },
    }
  },
})
