import {z} from 'zod'
import {defineGenerator} from '../generator-kind.js'
import {scalar} from '../param-types.js'

export const sequenceGenerator = defineGenerator({
  kind: 'sequence',
  doc: `\`values\` in order, one per message; \`loop: false\` holds the last value (default \`loop: true\`).`,
  example: `phase: {kind: sequence, values: [L1, L2, L3]}`,
  params: {values: z.array(scalar).min(1, 'values needs at least one value'), loop: z.boolean().optional()},
  defaults: {loop: true},
  create(spec) {
    const {loop} = spec
    return {next: (ctx) => spec.values[loop ? ctx.n % spec.values.length : Math.min(ctx.n, spec.values.length - 1)]}
  },
})
