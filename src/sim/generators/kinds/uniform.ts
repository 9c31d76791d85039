import {z} from 'zod'
import {defineGenerator, modal} from '../generator-kind.js'
import {shapeReading} from '../numeric.js'
import {resolution} from '../param-types.js'

export const uniformGenerator = defineGenerator({
  kind: 'uniform',
  doc: `Uniform in \`[min, max]\`.`,
  example: `load: {kind: uniform, min: 0, max: 100, resolution: 0.5}`,
  params: {min: z.number(), max: z.number(), resolution},
  numeric: true,
  modal: true,
  create(spec, {rng}) {
    const params = modal(spec)
    return {
      resolution: spec.resolution,
      max: spec.max,
      next(ctx) {
        const p = params(ctx.mode)
        return shapeReading(p.min + (p.max - p.min) * rng.next(), p)
      },
    }
  },
})
