import {z} from 'zod'
import {compileExpression, parseExpression, type ExprScope, type ExprValue} from '../expression.js'
import {defineGenerator, modal} from '../generator-kind.js'
import {clamp, shapeReading} from '../numeric.js'
import {resolution} from '../param-types.js'

export const derivedGenerator = defineGenerator({
  kind: 'derived',
  doc: `Computed from other fields with \`expr\` (see Expressions); optional \`min\`/\`max\`/\`resolution\`. Derived fields are evaluated after the fields they read; cycles are an error.`,
  example: `voltage: {kind: gaussian, mean: 230, stddev: 2, resolution: 0.1}
current: {kind: uniform, min: 4, max: 6, resolution: 0.01}
power: {kind: derived, expr: "voltage * current * 0.9", resolution: 1}
energyWh: {kind: derived, expr: "$prev + power * $dt / 3600", resolution: 0.01}`,
  params: {expr: z.string().min(1, 'expr is empty'), min: z.number().optional(), max: z.number().optional(), resolution},
  numeric: true,
  modal: true,
  create(spec) {
    const params = modal(spec)
    const compiled = new Map<string, ReturnType<typeof compileExpression>>()
    const compile = (expr: string) => {
      let fn = compiled.get(expr)
      if (!fn) compiled.set(expr, (fn = compileExpression(parseExpression(expr).ast)))
      return fn
    }
    // $prev is this field's own previous value before rounding (and before anomalies): an accumulator such as
    // `$prev + power * $dt / 3600` would otherwise lose every increment smaller than half the resolution.
    let prev: ExprValue = 0
    let fields: ExprScope = () => NaN
    const scope: ExprScope = (path) => (path === '$prev' ? prev : fields(path))
    return {
      resolution: spec.resolution,
      max: spec.max,
      next(ctx, deviceScope) {
        const p = params(ctx.mode)
        fields = deviceScope
        const v = compile(p.expr)(scope)
        if (typeof v !== 'number') return (prev = v)
        prev = clamp(v, p.min, p.max)
        return shapeReading(v, p)
      },
    }
  },
})
