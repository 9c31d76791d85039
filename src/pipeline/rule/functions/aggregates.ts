/**
 * Aggregates as incremental accumulators: a window operator calls add() per row and result() when the window
 * fires. Nulls and missing values are ignored (window-semantics.md) except by count(*), which counts rows, and
 * collect(), which keeps every value; an aggregate of nothing is null (count: 0).
 */
import {compareValues, deepEqual} from '../values.js'
import {num, param} from './define.js'
import type {Accumulator, AggregateFunctionSpec, ConstArgs} from './types.js'

class CountRows implements Accumulator {
  n = 0
  add(): void {
    this.n++
  }
  result(): unknown {
    return this.n
  }
  reset(): void {
    this.n = 0
  }
  merge(o: Accumulator): void {
    this.n += (o as CountRows).n
  }
}

class CountValues extends CountRows {
  override add(v?: unknown): void {
    if (v !== null && v !== undefined) this.n++
  }
}

class Sum implements Accumulator {
  sum = 0
  n = 0
  add(v: unknown): void {
    if (typeof v === 'number' && Number.isFinite(v)) {
      this.sum += v
      this.n++
    }
  }
  result(): unknown {
    return this.n === 0 ? null : this.sum
  }
  reset(): void {
    this.sum = 0
    this.n = 0
  }
  merge(o: Accumulator): void {
    this.sum += (o as Sum).sum
    this.n += (o as Sum).n
  }
}

class Avg extends Sum {
  override result(): unknown {
    return this.n === 0 ? null : this.sum / this.n
  }
}

/** min/max over numbers or over strings; a value that cannot be ordered against the current best is skipped. */
class Extreme implements Accumulator {
  best: unknown = null
  constructor(private readonly sign: 1 | -1) {}
  add(v: unknown): void {
    if (typeof v !== 'number' && typeof v !== 'string') return
    if (typeof v === 'number' && Number.isNaN(v)) return
    if (this.best === null) {
      this.best = v
      return
    }
    const c = compareValues(v, this.best)
    if (c !== null && c * this.sign < 0) this.best = v
  }
  result(): unknown {
    return this.best
  }
  reset(): void {
    this.best = null
  }
  merge(o: Accumulator): void {
    this.add((o as Extreme).best)
  }
}

class FirstValue implements Accumulator {
  has = false
  value: unknown = null
  constructor(private readonly ignoreNull: boolean) {}
  add(v: unknown): void {
    if (this.has || (this.ignoreNull && (v === null || v === undefined))) return
    this.has = true
    this.value = v ?? null
  }
  result(): unknown {
    return this.value
  }
  reset(): void {
    this.has = false
    this.value = null
  }
  merge(o: Accumulator): void {
    const other = o as FirstValue
    if (!this.has && other.has) {
      this.has = true
      this.value = other.value
    }
  }
}

class LastValue extends FirstValue {
  override add(v: unknown): void {
    if (this.ignoreNullValues && (v === null || v === undefined)) return
    this.has = true
    this.value = v ?? null
  }
  constructor(private readonly ignoreNullValues: boolean) {
    super(ignoreNullValues)
  }
  override merge(o: Accumulator): void {
    const other = o as LastValue
    if (other.has) {
      this.has = true
      this.value = other.value
    }
  }
}

class Collect implements Accumulator {
  values: unknown[] = []
  add(v: unknown): void {
    this.values.push(v ?? null)
  }
  result(): unknown {
    return this.values
  }
  /** A fresh array rather than clearing: a result already emitted must not change under its consumer. */
  reset(): void {
    this.values = []
  }
  merge(o: Accumulator): void {
    for (const v of (o as Collect).values) this.values.push(v)
  }
}

/** percentile_disc: the first value (in order) whose cumulative share of the values is at least p. */
class PercentileDisc implements Accumulator {
  values: number[] = []
  constructor(private readonly p: number) {}
  add(v: unknown): void {
    if (typeof v === 'number' && Number.isFinite(v)) this.values.push(v)
  }
  result(): unknown {
    const n = this.values.length
    if (n === 0) return null
    this.values.sort((a, b) => a - b)
    return this.values[Math.min(n - 1, Math.max(0, Math.ceil(this.p * n) - 1))]
  }
  reset(): void {
    this.values = []
  }
  merge(o: Accumulator): void {
    for (const v of (o as PercentileDisc).values) this.values.push(v)
  }
}

/** deduplicate(x, isAll): each add() gets [x, row]; rows whose x was seen before in the window are left out. */
class Deduplicate implements Accumulator {
  seen: unknown[] = []
  rows: unknown[] = []
  lastIsNew = false
  constructor(private readonly all: boolean) {}
  add(v: unknown): void {
    const [key, row] = v as [unknown, unknown]
    this.lastIsNew = !this.seen.some((k) => k === key || deepEqual(k, key))
    if (this.lastIsNew) {
      this.seen.push(key)
      this.rows.push(row)
    }
  }
  result(): unknown {
    if (this.all) return this.rows
    // eKuiper: the latest row when it is not a duplicate, else an empty object.
    return this.lastIsNew ? this.rows[this.rows.length - 1] : {}
  }
  reset(): void {
    this.seen = []
    this.rows = []
    this.lastIsNew = false
  }
  merge(o: Accumulator): void {
    const other = o as Deduplicate
    for (let i = 0; i < other.seen.length; i++) this.add([other.seen[i], other.rows[i]])
    this.lastIsNew = other.lastIsNew
  }
}

class MergeAgg implements Accumulator {
  value: Record<string, unknown> = {}
  add(v: unknown): void {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(this.value, v)
  }
  result(): unknown {
    return this.value
  }
  reset(): void {
    this.value = {}
  }
  merge(o: Accumulator): void {
    Object.assign(this.value, (o as MergeAgg).value)
  }
}

/** Exact percentile with linear interpolation between closest ranks (percentile_cont). */
export function percentileOfSorted(sorted: ArrayLike<number>, p: number): number | null {
  const n = sorted.length
  if (n === 0) return null
  const rank = p * (n - 1)
  const lo = Math.floor(rank)
  const hi = Math.ceil(rank)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo)
}

class Percentile implements Accumulator {
  values: number[] = []
  constructor(private readonly p: number) {}
  add(v: unknown): void {
    if (typeof v === 'number' && Number.isFinite(v)) this.values.push(v)
  }
  result(): unknown {
    this.values.sort((a, b) => a - b)
    return percentileOfSorted(this.values, this.p)
  }
  reset(): void {
    this.values = []
  }
  merge(o: Accumulator): void {
    for (const v of (o as Percentile).values) this.values.push(v)
  }
}

/**
 * Standard deviation or variance, population (n) or sample (n - 1) as eKuiper's stddev/var (population) and
 * stddevs/vars (sample); Welford's update, merged by Chan et al.'s parallel formula.
 */
class StdDev implements Accumulator {
  n = 0
  mean = 0
  m2 = 0
  constructor(
    private readonly sample: boolean,
    private readonly squared: boolean,
  ) {}
  add(v: unknown): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) return
    this.n++
    const d = v - this.mean
    this.mean += d / this.n
    this.m2 += d * (v - this.mean)
  }
  result(): unknown {
    const d = this.sample ? this.n - 1 : this.n
    if (d < 1) return null
    const variance = this.m2 / d
    return this.squared ? variance : Math.sqrt(variance)
  }
  reset(): void {
    this.n = 0
    this.mean = 0
    this.m2 = 0
  }
  merge(o: Accumulator): void {
    const b = o as StdDev
    if (b.n === 0) return
    const n = this.n + b.n
    const d = b.mean - this.mean
    this.m2 += b.m2 + (d * d * this.n * b.n) / n
    this.mean += (d * b.n) / n
    this.n = n
  }
}

function ignoreNullConst(c: ConstArgs): boolean {
  return c[1] !== false
}

function checkFraction(c: ConstArgs): string | undefined {
  const p = c[1]
  if (p === undefined) return undefined
  return typeof p === 'number' && p >= 0 && p <= 1 ? undefined : 'percentile(x, p): p must be a number from 0 to 1, e.g. 0.95'
}

function simple(name: string, summary: string, make: () => Accumulator): AggregateFunctionSpec {
  return {kind: 'aggregate', name, summary, params: [num()], required: 1, create: () => make()}
}

export const aggregateFunctions: AggregateFunctionSpec[] = [
  {
    kind: 'aggregate', name: 'count', summary: 'number of rows (count(*)) or of non-null values (count(x))',
    params: [param('x')], required: 1, allowsStar: true,
    create: (_c, star) => (star ? new CountRows() : new CountValues()),
  },
  simple('sum', 'sum of the values', () => new Sum()),
  simple('avg', 'mean of the values', () => new Avg()),
  {kind: 'aggregate', name: 'min', summary: 'smallest value', params: [param('x')], required: 1, create: () => new Extreme(1)},
  {kind: 'aggregate', name: 'max', summary: 'largest value', params: [param('x')], required: 1, create: () => new Extreme(-1)},
  {
    kind: 'aggregate', name: 'first_value', summary: 'first value in arrival order (nulls skipped unless ignoreNull is false)',
    params: [param('x'), param('ignoreNull', 'boolean', true)], required: 1,
    create: (c) => new FirstValue(ignoreNullConst(c)),
  },
  {
    kind: 'aggregate', name: 'last_value', summary: 'last value in arrival order (nulls skipped unless ignoreNull is false)',
    params: [param('x'), param('ignoreNull', 'boolean', true)], required: 1,
    create: (c) => new LastValue(ignoreNullConst(c)),
  },
  {kind: 'aggregate', name: 'collect', summary: 'every value as an array (nulls kept); collect(*) every row', params: [param('x')], required: 1, allowsStar: true, create: () => new Collect()},
  simple('median', 'median (exact)', () => new Percentile(0.5)),
  simple('stddev', 'population standard deviation (eKuiper)', () => new StdDev(false, false)),
  simple('stddevs', 'sample standard deviation', () => new StdDev(true, false)),
  simple('var', 'population variance', () => new StdDev(false, true)),
  simple('vars', 'sample variance', () => new StdDev(true, true)),
  {
    kind: 'aggregate', name: 'percentile_disc', summary: 'the smallest value whose cumulative share reaches p (0..1)',
    params: [num(), param('p', 'number', true)], required: 2, check: checkFraction,
    create: (c) => new PercentileDisc(typeof c[1] === 'number' ? c[1] : 0.5),
  },
  {
    kind: 'aggregate', name: 'deduplicate', summary: 'the rows whose x was not seen before in the window (all, or with isAll false the last such row)',
    params: [param('x'), param('isAll', 'boolean', true)], required: 2, rowArg: true,
    create: (c) => new Deduplicate(c[1] !== false),
  },
  {
    kind: 'aggregate', name: 'merge_agg', summary: 'the objects merged into one (later keys win; merge_agg(*) merges rows)',
    params: [param('x')], required: 1, allowsStar: true,
    create: () => new MergeAgg(),
  },
  {
    kind: 'aggregate', name: 'percentile', summary: 'exact percentile p (0..1) with linear interpolation',
    params: [num(), param('p', 'number', true)], required: 2, check: checkFraction,
    create: (c) => new Percentile(typeof c[1] === 'number' ? c[1] : 0.5),
  },
]
