import {z} from 'zod'

/**
 * `z.union` reports a failed union as one "Invalid input" at the union's own position, losing the precise
 * nested problem (e.g. `fields.temp.sigma: expected number`). Where a value may be a scalar *or* an object
 * (a bare constant or a generator, `json` or `{format: raw, ...}`), we instead pick the branch from the
 * value's JavaScript shape and report that branch's issues with their full paths.
 *
 * The JSON Schema generator cannot see through the dispatch, so each dispatching schema remembers the plain
 * union it stands for; `documentedUnionFor` hands it to `z.toJSONSchema`'s override hook.
 */

// Kept by the schema's definition, which the copies `.meta()` and `.describe()` make share: `topic: byShape(...).meta(...)`
// is still known for what it stands for.
const documented = new WeakMap<object, z.ZodType>()

function definitionOf(schema: unknown): object | undefined {
  return (schema as {_zod?: {def?: object}} | undefined)?._zod?.def
}

export function documentedUnionFor(schema: unknown): z.ZodType | undefined {
  const def = definitionOf(schema)
  return def === undefined ? undefined : documented.get(def)
}

type Shape = 'string' | 'number' | 'boolean' | 'array' | 'object'

function shapeOf(value: unknown): Shape | 'null' | 'other' {
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return 'array'
  const t = typeof value
  return t === 'string' || t === 'number' || t === 'boolean' || t === 'object' ? t : 'other'
}

/**
 * A schema that validates with `branches[shape of value]`. `expected` names the accepted shapes in the
 * message when none matches ("expected a string or an object with kind").
 */
export function byShape<B extends Partial<Record<Shape, z.ZodType>>>(branches: B, expected: string) {
  const options = Object.values(branches) as z.ZodType[]
  const schema = z.unknown().transform((value, ctx) => {
    const shape = shapeOf(value)
    const branch = shape === 'null' || shape === 'other' ? undefined : branches[shape]
    if (!branch) {
      ctx.addIssue({code: 'custom', input: value, message: `expected ${expected}, got ${describeValue(value)}`, params: {wrongShape: true}})
      return z.NEVER
    }
    const result = branch.safeParse(value)
    if (!result.success) {
      for (const issue of result.error.issues) ctx.addIssue({...issue, input: value} as Parameters<typeof ctx.addIssue>[0])
      return z.NEVER
    }
    return result.data as z.output<NonNullable<B[keyof B]>>
  })
  documented.set(schema._zod.def, options.length === 1 ? options[0] : z.union(options as [z.ZodType, z.ZodType, ...z.ZodType[]]))
  return schema
}

/**
 * Whether an issue says the value is of the wrong shape (a list where a map goes, text where a number goes): zod's
 * invalid_type, or byShape finding no branch for it. Such a problem is about the value itself, so it is reported
 * where the value is, and a value that is not there at all is a missing key. (z.never() says the key may not be
 * there at all, whatever its value: that is about the key.)
 */
export function isWrongShape(issue: z.core.$ZodIssue): boolean {
  return (issue.code === 'invalid_type' && issue.expected !== 'never') || (issue.code === 'custom' && issue.params?.wrongShape === true)
}

/** A value as a person wrote it in YAML: the scalar itself (text quoted, so `yes` shows as the text it is), or its shape. */
export function describeValue(value: unknown): string {
  const shape = shapeOf(value)
  if (shape === 'null') return 'nothing'
  if (shape === 'array') return 'a list'
  if (shape === 'object') return 'a map'
  if (shape === 'string') {
    const text = JSON.stringify(value)
    return text.length <= 40 ? text : `${text.slice(0, 39)}…"`
  }
  return shape === 'other' ? typeof value : String(value)
}
