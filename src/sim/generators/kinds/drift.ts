import {z} from 'zod'
import {defineGenerator, modal} from '../generator-kind.js'
import {clamp, shapeReading} from '../numeric.js'
import {nonNegative, resolution} from '../param-types.js'

export const driftGenerator = defineGenerator({
  kind: 'drift',
  doc: `A slow trend: \`start\`, \`perHour\` (change per hour), optional \`min\`/\`max\`/\`noise\`.`,
  example: `battery: {kind: drift, start: 100, perHour: -1.5, min: 0, resolution: 0.1}`,
  params: {start: z.number(), perHour: z.number(), min: z.number().optional(), max: z.number().optional(), noise: nonNegative('noise').optional(), resolution},
  numeric: true,
  modal: true,
  fixedInMode: {start: 'it is only the initial level (change perHour or the bounds instead)'},
  create(spec, {rng}) {
    const params = modal(spec)
    let level = spec.start
    return {
      resolution: spec.resolution,
      max: spec.max,
      next(ctx) {
        const p = params(ctx.mode)
        level = clamp(level + (p.perHour * ctx.dtS) / 3600, p.min, p.max)
        const noise = p.noise ? p.noise * rng.gaussian() : 0
        return shapeReading(level + noise, p)
      },
    }
  },
})
