/**
 * Columns for compact checkpoints: the same field of many objects (one accumulator field of 100,000 windows, their
 * starts, their keys) stored side by side instead of object by object. The v8 serializer writes every property
 * name of every object again and every number with its own tag; a column writes the name once, numbers as one
 * typed array (a copy of memory), and a field with one value everywhere (a window start shared by all keys, a
 * constant flag) as that value alone.
 */

export type Column = {same: unknown} | {i32: Int32Array} | {f64: Float64Array} | {values: unknown[]}

/** The smallest column that gives `values` back exactly (Object.is: -0 and NaN included). */
export function toColumn(values: readonly unknown[]): Column {
  const n = values.length
  if (n === 0) return {values: []}
  const first = values[0]
  let same = first === null || typeof first !== 'object'
  let numbers = true
  let ints = true
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (same && !Object.is(v, first)) same = false
    if (typeof v !== 'number') {
      numbers = false
      ints = false
      if (!same) break
    } else if (ints && ((v | 0) !== v || Object.is(v, -0))) ints = false
  }
  if (same) return {same: first}
  if (ints) return {i32: Int32Array.from(values as number[])}
  if (numbers) return {f64: Float64Array.from(values as number[])}
  return {values: values as unknown[]}
}

/** The `n` values of a column, as an indexable list. */
export function fromColumn(column: Column, n: number): ArrayLike<unknown> {
  if ('same' in column) return new Array<unknown>(n).fill(column.same)
  if ('i32' in column) return column.i32
  if ('f64' in column) return column.f64
  return column.values
}

/**
 * Plain objects of one shape (class instances with the same own fields, as one aggregate function's accumulators
 * are) as one column per field. `fields` are taken from the first object.
 */
export function toFieldColumns(objects: readonly object[]): {fields: string[]; columns: Column[]} {
  if (objects.length === 0) return {fields: [], columns: []}
  const fields = Object.keys(objects[0])
  return {fields, columns: fields.map((f) => toColumn(objects.map((o) => (o as Record<string, unknown>)[f])))}
}

/** Puts field `i` of `toFieldColumns` data back into each of `targets` (fresh objects of the same shape). */
export function loadFieldColumns<T extends object>(data: {fields: string[]; columns: Column[]}, targets: T[]): T[] {
  const n = targets.length
  data.fields.forEach((f, c) => {
    const values = fromColumn(data.columns[c], n)
    for (let i = 0; i < n; i++) (targets[i] as Record<string, unknown>)[f] = values[i]
  })
  return targets
}
