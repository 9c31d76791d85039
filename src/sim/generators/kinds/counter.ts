import {z} from 'zod'
import {defineGenerator} from '../generator-kind.js'
import {decimalsOf} from '../numeric.js'
import {probability} from '../param-types.js'

export const counterGenerator = defineGenerator({
  kind: 'counter',
  doc: `A monotonic counter: \`start\` (0), \`step\` (1) per message; \`resetProbability\` restarts it at random (a reboot).
\`wrap\` makes it roll over like a hardware register: when it reaches \`wrap\` it continues from \`start\` plus the
overflow, \`start + (value − start) mod (wrap − start)\`, so \`wrap\` itself is never emitted (step 30, wrap 100:
0, 30, 60, 90, 20, 50, ...; a 16-bit register is \`wrap: 65536\`). \`modes\` (a list of the fleet's modes) makes it count
only in those modes, as a stroke counter stands still while its press is idle or faulted. A counter with a negative \`step\` counts down to a
\`wrap\` below \`start\` and rolls over the same way. Values print at the decimals of \`start\`/\`step\`/\`wrap\`, exactly
at any size.`,
  example: `strokes: {kind: counter, start: 0, step: 1, wrap: 65536, resetProbability: 0.0001}`,
  params: {
    start: z.number().optional(),
    step: z.number().optional(),
    wrap: z.number().optional(),
    resetProbability: probability.optional(),
    modes: z.array(z.string().min(1)).min(1, 'modes needs at least one mode').optional().meta({description: 'Count only while the device is in one of these modes (default: in every mode).'}),
  },
  defaults: {start: 0, step: 1},
  numeric: true,
  check(v, issue) {
    // A counter rolls over when it reaches wrap, so wrap must lie ahead of start in the direction it counts.
    if (v.wrap !== undefined && v.wrap <= v.start && v.step > 0) issue(`wrap (${v.wrap}) must be greater than start (${v.start})`, ['wrap'])
    if (v.wrap !== undefined && v.wrap >= v.start && v.step < 0) issue(`wrap (${v.wrap}) must be less than start (${v.start}) for a counter that counts down`, ['wrap'])
  },
  /**
   * Counts start, start + step, ... and, with `wrap`, rolls over like a hardware register: on reaching wrap it
   * continues from start plus the overflow (step 30, wrap 100: 0, 30, 60, 90, 20), so wrap itself is never emitted
   * (a 16-bit register has wrap 65536). A counter that counts down rolls over the same way, at a wrap below start.
   */
  create(spec, {rng}) {
    const {start, step} = spec
    // Printed at the decimals of its parameters: exact for integers of any size, no float noise for 0.1 steps.
    const decimals = Math.max(decimalsOf(step), decimalsOf(start), spec.wrap === undefined ? 0 : decimalsOf(spec.wrap))
    const round = (x: number) => Number(x.toFixed(decimals))
    const span = spec.wrap === undefined ? 0 : spec.wrap - start
    const wraps = span !== 0 && Math.sign(span) === Math.sign(step)
    const counting = spec.modes ? new Set(spec.modes) : undefined
    let k = 0
    return {
      next(ctx) {
        if (ctx.n > 0 && (counting === undefined || counting.has(ctx.mode))) {
          // A reset models a device reboot: the counter restarts, which consumers must handle.
          if (spec.resetProbability && rng.next() < spec.resetProbability) k = 0
          else k++
        }
        // k × step (not repeated addition) so fractional steps do not accumulate float error.
        let travelled = round(k * step)
        if (wraps) {
          // travelled and span have the same sign, so % keeps it; rounding can land exactly on span, which is start again.
          travelled = round(travelled % span)
          if (Math.abs(travelled) >= Math.abs(span)) travelled = round(travelled - span)
        }
        return round(start + travelled)
      },
    }
  },
})
