import {z} from 'zod'
import {defineGenerator, modal} from '../generator-kind.js'
import {nonNegative, scalar} from '../param-types.js'

export const pickGenerator = defineGenerator({
  kind: 'pick',
  doc: `A random choice per message; \`weights\` (same length as \`values\`) make some values likelier.`,
  example: `state: {kind: pick, values: [ok, warn, error], weights: [90, 9, 1]}`,
  params: {values: z.array(scalar).min(1, 'values needs at least one value'), weights: z.array(nonNegative('a weight')).optional()},
  modal: true,
  create(spec, {rng}) {
    const params = modal(spec)
    return {
      next(ctx) {
        const p = params(ctx.mode)
        if (!p.weights) return p.values[rng.int(p.values.length)]
        const total = p.weights.reduce((a, b) => a + b, 0)
        let u = rng.next() * total
        for (let i = 0; i < p.values.length; i++) {
          if (u < p.weights[i]) return p.values[i]
          u -= p.weights[i]
        }
        return p.values[p.values.length - 1]
      },
    }
  },
})
