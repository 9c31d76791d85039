import {describe, expect, it} from 'vitest'
import {createAccumulator, defaultFunctionRegistry} from '../../../src/pipeline/rule/index.js'
import {evalExpr, evalSequence, row} from './helpers.js'

describe('scalar functions', () => {
  it.each([
    ['abs(-2)', 2], ['ceil(1.2)', 2], ['floor(1.8)', 1], ['round(2.5)', 3], ['round(-2.5)', -3], ['round(1.005, 2)', 1.01],
    ['round(3.14159, 3)', 3.142], ['sqrt(16)', 4], ['sqrt(-1)', null], ['power(2, 10)', 1024], ['exp(0)', 1], ['ln(1)', 0],
    ['log(1000)', 3], ['mod(7, 3)', 1], ['mod(7, 0)', null], ['sign(-5)', -1], ['clamp(15, 0, 10)', 10], ['clamp(-1, 0, 10)', 0],
    ['abs(null)', null],
  ])('math: %s = %j', (expr, expected) => {
    expect(evalExpr(expr)).toBe(expected)
  })

  it.each([
    ["concat('a', 1, null, true)", 'a1true'], ["lower('AbC')", 'abc'], ["upper('abc')", 'ABC'], ["trim('  x ')", 'x'],
    ["ltrim('  x ')", 'x '], ["rtrim('  x ')", '  x'], ["length('héllo')", 5], ["length('😀')", 1], ["substring('abcdef', 1, 3)", 'bc'],
    ["substring('abcdef', 2)", 'cdef'], ["split_value('a/b/c', '/', 1)", 'b'], ["split_value('a/b/c', '/', 5)", null],
    ["regexp_matches('dev-42', '^dev-[0-9]+$')", true], ["regexp_matches('x', '^y')", false], ['format(3.14159, 2)', '3.14'],
    ["startswith('factory/1', 'factory/')", true], ["endswith('a.json', '.json')", true], ["indexof('abc', 'c')", 2],
    ["replace('a-b-c', '-', '/')", 'a/b/c'],
  ])('string: %s = %j', (expr, expected) => {
    expect(evalExpr(expr)).toBe(expected)
  })

  it('string functions return null for values of another type', () => {
    expect(evalExpr('upper(a)', {a: 5})).toBeNull()
    // eKuiper's length() also counts the members of an array (issue #16: its function reference).
    expect(evalExpr('length(a)', {a: [1]})).toBe(1)
  })

  it('time functions use the injected clock and format in UTC', () => {
    expect(evalExpr('now()')).toBe(1_700_000_000_000)
    expect(evalExpr('tstamp()')).toBe(1_700_000_000_000)
    expect(evalExpr("format_time(ts, 'YYYY-MM-DD HH:mm:ss')", {ts: 1_700_000_000_123})).toBe('2023-11-14 22:13:20')
    expect(evalExpr("format_time(ts, 'yyyy/MM/dd HH:mm:ss.SSS')", {ts: '2024-02-29T01:02:03.004Z'})).toBe('2024/02/29 01:02:03.004')
    expect(evalExpr('to_seconds(ts)', {ts: 1_700_000_000_999})).toBe(1_700_000_000)
    expect(evalExpr('to_millis(ts)', {ts: '1970-01-01T00:00:01Z'})).toBe(1000)
    expect(evalExpr("format_time(ts, 'YYYY')", {ts: 'not a date'})).toBeNull()
  })

  it('JSON functions', () => {
    expect(evalExpr('to_json(a)', {a: {x: [1, 'y']}})).toBe('{"x":[1,"y"]}')
    expect(evalExpr('to_json(a)', {})).toBe('null')
    expect(evalExpr('parse_json(s)', {s: '{"k":2}'})).toEqual({k: 2})
    expect(evalExpr('parse_json(s)', {s: '{oops'})).toBeNull()
    expect(evalExpr("json_path_query(a, '$.x[1]')", {a: {x: [1, 'y']}})).toBe('y')
    expect(evalExpr("json_path_query(s, '$.a.b')", {s: '{"a":{"b":3}}'})).toBe(3)
    expect(evalExpr("json_path_query(a, '$.missing')", {a: {}})).toBeNull()
  })

  it('hash functions', () => {
    expect(evalExpr("md5('abc')")).toBe('900150983cd24fb0d6963f7d28e17f72')
    expect(evalExpr("sha1('abc')")).toBe('a9993e364706816aba3e25717850c26c9cd0d89d')
    expect(evalExpr("sha256('abc')")).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(evalExpr('md5(a)', {a: {}})).toBeNull()
  })

  it('cast, coalesce, newuuid', () => {
    expect(evalExpr("cast(a, 'float')", {a: '2.5'})).toBe(2.5)
    expect(evalExpr("cast(a, 'float')", {a: 'x'})).toBeNull()
    expect(evalExpr("cast(a, 'bigint')", {a: '-2.7'})).toBe(-2)
    expect(evalExpr("cast(a, 'string')", {a: 12})).toBe('12')
    expect(evalExpr("cast(a, 'boolean')", {a: 'TRUE'})).toBe(true)
    expect(evalExpr("cast(a, 'boolean')", {a: 0})).toBe(false)
    expect(evalExpr("cast(a, 'boolean')", {a: 'maybe'})).toBeNull()
    expect(evalExpr('coalesce(a, b, 3)', {b: 2})).toBe(2)
    expect(evalExpr('coalesce(a, b)', {})).toBeNull()
    expect(evalExpr('newuuid()')).toBe('00000000-0000-4000-8000-000000000000')
  })

  it('every registered function has a summary and a known kind', () => {
    const reg = defaultFunctionRegistry()
    expect(reg.names().length).toBeGreaterThan(55)
    for (const spec of reg.list()) {
      expect(spec.summary.length).toBeGreaterThan(0)
      expect(['scalar', 'stateful', 'aggregate', 'window']).toContain(spec.kind)
    }
  })
})

describe('aggregates', () => {
  const feed = (name: string, values: unknown[], consts: unknown[] = [], star = false): unknown => {
    const acc = createAccumulator(name, [undefined, ...consts] as never, star)
    for (const v of values) acc.add(v)
    return acc.result()
  }
  const values = [3, null, 1, undefined, 4, 1, 5]

  it.each([
    ['count', values, 5], ['sum', values, 14], ['avg', values, 2.8], ['min', values, 1], ['max', values, 5],
    ['first_value', [null, 2, 3], 2], ['last_value', [1, 2, null], 2], ['collect', [1, null, 2], [1, null, 2]],
    ['median', [5, 1, 3, 2], 2.5], ['median', [5, 1, 3], 3], ['stddev', [2, 4, 4, 4, 5, 5, 7, 9], 2], ['stddevs', [2, 4, 4, 4, 5, 5, 7, 9], Math.sqrt(32 / 7)],
    ['var', [2, 4, 4, 4, 5, 5, 7, 9], 4], ['vars', [2, 4, 4, 4, 5, 5, 7, 9], 32 / 7],
    ['min', ['b', 'a', 'c'], 'a'], ['max', ['b', 'a', 'c'], 'c'], ['sum', ['1', 2], 2],
  ])('%s(%j) = %j', (name, input, expected) => {
    const got = feed(name, input)
    if (typeof expected === 'number') expect(got).toBeCloseTo(expected, 10)
    else expect(got).toEqual(expected)
  })

  it('count(*) counts rows including nulls', () => {
    expect(feed('count', values, [], true)).toBe(7)
  })

  it('an aggregate of nothing is null (count: 0)', () => {
    for (const name of ['sum', 'avg', 'min', 'max', 'median', 'stddev', 'first_value', 'last_value']) expect(feed(name, [null])).toBeNull()
    expect(feed('count', [])).toBe(0)
    // Population deviation of one value is 0 (eKuiper's stddev); the sample one needs two.
    expect(feed('stddev', [1])).toBe(0)
    expect(feed('stddevs', [1])).toBeNull()
  })

  it('first_value/last_value keep nulls when ignoreNull is false', () => {
    expect(feed('first_value', [null, 2], [false])).toBeNull()
    expect(feed('last_value', [1, null], [false])).toBeNull()
  })

  it('percentile is exact with linear interpolation', () => {
    const data = Array.from({length: 101}, (_, i) => 100 - i)
    expect(feed('percentile', data, [0.95])).toBe(95)
    expect(feed('percentile', [1, 2], [0.5])).toBe(1.5)
    expect(feed('percentile', [7], [0.99])).toBe(7)
  })

  it('merge equals feeding everything to one accumulator', () => {
    const a = [1, 5, 2, 8]
    const b = [3, 9, 4]
    for (const name of ['count', 'sum', 'avg', 'min', 'max', 'stddev', 'stddevs', 'var', 'median', 'first_value', 'last_value', 'collect']) {
      const left = createAccumulator(name)
      const right = createAccumulator(name)
      a.forEach((v) => left.add(v))
      b.forEach((v) => right.add(v))
      left.merge(right)
      const expected = feed(name, [...a, ...b])
      if (typeof expected === 'number') expect(left.result()).toBeCloseTo(expected, 10)
      else expect(left.result()).toEqual(expected)
    }
  })

  it('reset empties an accumulator without changing a result already handed out', () => {
    const acc = createAccumulator('collect')
    acc.add(1)
    const first = acc.result()
    acc.reset()
    acc.add(2)
    expect(first).toEqual([1])
    expect(acc.result()).toEqual([2])
  })
})

describe('stateful functions (per key)', () => {
  const rows = (pairs: [string, unknown][]) => pairs.map(([key, t]) => row({t, dev: key}, {key}))

  it('lag returns the previous value of the same key', () => {
    expect(evalSequence('lag(t)', rows([['a', 1], ['b', 10], ['a', 2], ['a', 3], ['b', 11]]))).toEqual([null, null, 1, 2, 10])
    expect(evalSequence("lag(t, 2, 'none')", rows([['a', 1], ['a', 2], ['a', 3]]))).toEqual(['none', 'none', 1])
  })

  it('lag keys by OVER (PARTITION BY …) when given', () => {
    const r = [row({t: 1, dev: 'x'}), row({t: 2, dev: 'y'}), row({t: 3, dev: 'x'})]
    expect(evalSequence('lag(t) OVER (PARTITION BY dev)', r)).toEqual([null, null, 1])
  })

  it('changed and changed_col detect changes per key, ignoring nulls', () => {
    expect(evalSequence('changed(t)', rows([['a', 1], ['a', 1], ['b', 1], ['a', null], ['a', 2], ['a', 2]]))).toEqual([true, false, true, false, true, false])
    expect(evalSequence('changed_col(true, t)', rows([['a', 'on'], ['a', 'on'], ['a', null], ['a', 'off']]))).toEqual(['on', null, null, 'off'])
  })

  it('zscore compares a value with the previous n values of its key', () => {
    const seq = rows([['a', 10], ['a', 12], ['a', 10], ['a', 12], ['b', 500], ['a', 30]])
    const z = evalSequence('zscore(t, 4, 2)', seq) as (number | null)[]
    expect(z.slice(0, 2)).toEqual([null, null])
    expect(z[2]).toBeCloseTo((10 - 11) / Math.SQRT2, 10)
    expect(z[4]).toBeNull()
    // history 10,12,10,12: mean 11, sample sd sqrt(4/3)
    expect(z[5]).toBeCloseTo((30 - 11) / Math.sqrt(4 / 3), 10)
  })

  it('zscore forgets values older than n (rolling)', () => {
    const values = [100, 100, 100, 1, 2, 1, 2]
    const z = evalSequence('zscore(t, 3, 2)', values.map((t) => row({t}, {key: 'k'}))) as (number | null)[]
    // the last call sees only 1, 2, 1 (mean 4/3, sd sqrt(1/3)), not the 100s
    expect(z[6]).toBeCloseTo((2 - 4 / 3) / Math.sqrt(1 / 3), 10)
  })

  it('zscore stays exact around large offsets', () => {
    const values = Array.from({length: 1000}, (_, i) => 1e12 + (i % 2))
    const z = evalSequence('zscore(t, 100)', values.map((t) => row({t}, {key: 'k'}))) as number[]
    expect(Math.abs(z[999])).toBeCloseTo(Math.sqrt(100 / 99) * 1, 1)
  })
})
