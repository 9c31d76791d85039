import {z} from 'zod'
import {duration} from '../../../config/units-schema.js'
import {defineGenerator, modal} from '../generator-kind.js'
import {probability, scalar} from '../param-types.js'

export const stepGenerator = defineGenerator({
  kind: 'step',
  doc: `Holds one of \`levels\` and moves to another one \`every\` duration, or with per-message \`probability\` (exactly one of the two).`,
  example: `setpoint: {kind: step, levels: [18, 20, 22], every: 30m}`,
  params: {levels: z.array(scalar).min(1, 'levels needs at least one level'), every: duration({positive: true}).optional(), probability: probability.optional()},
  modal: true,
  check(v, issue) {
    if ((v.every === undefined) === (v.probability === undefined)) issue('a step generator needs exactly one of every or probability')
  },
  create(spec, {rng}) {
    const params = modal(spec)
    let index = -1
    let changedAtMs = 0
    return {
      next(ctx) {
        const p = params(ctx.mode)
        const n = p.levels.length
        if (index < 0 || index >= n) {
          index = rng.int(n)
          changedAtMs = ctx.tsMs
        } else {
          const due = p.every !== undefined ? ctx.tsMs - changedAtMs >= p.every : rng.next() < (p.probability ?? 0)
          if (due && n > 1) {
            // Move to a different level: a step that stays put is not a step.
            index = (index + 1 + rng.int(n - 1)) % n
            changedAtMs = ctx.tsMs
          } else if (due) changedAtMs = ctx.tsMs
        }
        return p.levels[index]
      },
    }
  },
})
