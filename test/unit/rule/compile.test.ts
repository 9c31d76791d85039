import {describe, expect, it} from 'vitest'
import {compilePredicate, compileRule, likeToRegExp, type RowContext} from '../../../src/pipeline/rule/index.js'
import {bindExpr, evalExpr, planOf, row} from './helpers.js'

describe('compileExpression: SQL semantics', () => {
  it('propagates null through arithmetic and comparisons', () => {
    expect(evalExpr('a + 1', {})).toBeNull()
    expect(evalExpr('a * 2', {a: null})).toBeNull()
    expect(evalExpr('a > 1', {})).toBeNull()
    expect(evalExpr('a = null', {a: 1})).toBeNull()
    expect(evalExpr('-a', {a: 'x'})).toBeNull()
    expect(evalExpr('a / 0', {a: 1})).toBeNull()
    expect(evalExpr('a % 0', {a: 1})).toBeNull()
  })

  it('uses three-valued AND, OR and NOT', () => {
    expect(evalExpr('a > 1 AND b > 1', {b: 0})).toBe(false)
    expect(evalExpr('a > 1 AND b > 1', {b: 5})).toBeNull()
    expect(evalExpr('a > 1 OR b > 1', {b: 5})).toBe(true)
    expect(evalExpr('a > 1 OR b > 1', {b: 0})).toBeNull()
    expect(evalExpr('NOT (a > 1)', {})).toBeNull()
    expect(evalExpr('NOT (a > 1)', {a: 0})).toBe(true)
  })

  it('treats null as false in a predicate', () => {
    const where = compilePredicate(bindExpr('temp > 30'))
    expect(where(row({temp: 31}))).toBe(true)
    expect(where(row({temp: 30}))).toBe(false)
    expect(where(row({}))).toBe(false)
    expect(where(row({temp: null}))).toBe(false)
    expect(where(row('not an object'))).toBe(false)
  })

  it('compares numbers numerically, strings as strings, and mixed types not at all', () => {
    expect(evalExpr('a < b', {a: 9, b: 10})).toBe(true)
    expect(evalExpr('a < b', {a: '9', b: '10'})).toBe(false)
    expect(evalExpr('a < 10', {a: '9'})).toBeNull()
    expect(evalExpr('a = 1', {a: '1'})).toBe(false)
    expect(evalExpr('a != 1', {a: '1'})).toBe(true)
    expect(evalExpr('a == b', {a: {x: [1]}, b: {x: [1]}})).toBe(true)
    expect(evalExpr('a <> 2', {a: 1})).toBe(true)
    expect(evalExpr('a >= 1 AND a <= 1', {a: 1})).toBe(true)
  })

  it('evaluates arithmetic with precedence', () => {
    expect(evalExpr('1 + 2 * 3 - 4 / 2')).toBe(5)
    expect(evalExpr('(1 + 2) * 3')).toBe(9)
    expect(evalExpr('7 % 4')).toBe(3)
    expect(evalExpr('-a + 1', {a: 3})).toBe(-2)
  })

  it('reads paths, array indexes and metadata', () => {
    const p = {a: {b: {c: 5}}, arr: [10, 20, 30], s: 1}
    expect(evalExpr('a.b.c', p)).toBe(5)
    expect(evalExpr('a->b->c', p)).toBe(5)
    expect(evalExpr('arr[1]', p)).toBe(20)
    expect(evalExpr('arr[-1]', p)).toBe(30)
    expect(evalExpr('arr[9]', p)).toBeNull()
    expect(evalExpr('s.x', p)).toBeNull()
    expect(evalExpr('a[0]', p)).toBeNull()
    expect(evalExpr('parse_json(j)->k[0]', {j: '{"k":[7]}'})).toBe(7)
    expect(evalExpr('meta(topic)', {}, {meta: {topic: 'f/1/temp', qos: 1}})).toBe('f/1/temp')
    expect(evalExpr('meta(clientid)', {}, {meta: {}})).toBeNull()
  })

  it('implements IN and NOT IN with SQL null rules', () => {
    expect(evalExpr("a IN ('x', 'y')", {a: 'y'})).toBe(true)
    expect(evalExpr('a IN (1, 2)', {a: '1'})).toBe(false)
    expect(evalExpr('a IN (1, null)', {a: 2})).toBeNull()
    expect(evalExpr('a NOT IN (1, 2)', {a: 3})).toBe(true)
    expect(evalExpr('a NOT IN (1, 2)', {})).toBeNull()
    expect(evalExpr('a IN (b, c + 1)', {a: 3, b: 1, c: 2})).toBe(true)
  })

  it('implements BETWEEN inclusively', () => {
    expect(evalExpr('a BETWEEN 1 AND 3', {a: 1})).toBe(true)
    expect(evalExpr('a BETWEEN 1 AND 3', {a: 3})).toBe(true)
    expect(evalExpr('a BETWEEN 1 AND 3', {a: 4})).toBe(false)
    expect(evalExpr('a NOT BETWEEN 1 AND 3', {a: 4})).toBe(true)
    expect(evalExpr('a BETWEEN 1 AND 3', {})).toBeNull()
    expect(evalExpr("a BETWEEN 'b' AND 'd'", {a: 'c'})).toBe(true)
  })

  it('implements LIKE with % and _ (and escapes)', () => {
    expect(evalExpr("t LIKE 'acme/%'", {t: 'acme/x/y'})).toBe(true)
    expect(evalExpr("t LIKE 'acme/%'", {t: 'acm/x'})).toBe(false)
    expect(evalExpr("t LIKE 'a_c'", {t: 'abc'})).toBe(true)
    expect(evalExpr("t LIKE 'a_c'", {t: 'abbc'})).toBe(false)
    expect(evalExpr("t LIKE '%.json'", {t: 'x.json'})).toBe(true)
    expect(evalExpr("t LIKE '%.json'", {t: 'xjson'})).toBe(false)
    expect(evalExpr("t LIKE '100\\%'", {t: '100%'})).toBe(true)
    expect(evalExpr("t NOT LIKE 'a%'", {t: 'b'})).toBe(true)
    expect(evalExpr("t LIKE 'a%'", {t: 5})).toBeNull()
    expect(evalExpr('t LIKE p', {t: 'abc', p: 'a%'})).toBe(true)
    expect(likeToRegExp('a(b)%').test('a(b)zz')).toBe(true)
  })

  it('implements IS [NOT] NULL for missing and null values', () => {
    expect(evalExpr('a IS NULL', {})).toBe(true)
    expect(evalExpr('a IS NULL', {a: null})).toBe(true)
    expect(evalExpr('a IS NOT NULL', {a: 0})).toBe(true)
  })

  it('implements both CASE forms', () => {
    const searched = "CASE WHEN t > 30 THEN 'hot' WHEN t > 20 THEN 'warm' ELSE 'cold' END"
    expect(evalExpr(searched, {t: 35})).toBe('hot')
    expect(evalExpr(searched, {t: 25})).toBe('warm')
    expect(evalExpr(searched, {})).toBe('cold')
    expect(evalExpr("CASE s WHEN 1 THEN 'one' WHEN 2 THEN 'two' END", {s: 2})).toBe('two')
    expect(evalExpr("CASE s WHEN 1 THEN 'one' END", {s: 3})).toBeNull()
    expect(evalExpr("CASE s WHEN null THEN 'null' ELSE 'other' END", {})).toBe('other')
  })

  it('reads joined tables, window bounds and aggregate results from the row context', () => {
    const plan = planOf('SELECT d.site AS site, avg(t) AS a, window_start() AS ws FROM s LEFT JOIN devices d ON s.id = d.id GROUP BY TUMBLINGWINDOW(ss, 10)')
    const rule = compileRule(plan)
    const out = projectOne(rule, row({t: 1}, {tables: {d: {site: 'north'}}, window: {start: 0, end: 10_000}, aggregates: [2.5]}))
    expect(out).toEqual({site: 'north', a: 2.5, ws: 0})
    expect(projectOne(rule, row({}, {tables: {d: null}})).site).toBeUndefined()
    expect(rule.joinOn[0](row({id: 1}, {tables: {d: {id: 1}}}))).toBe(true)
  })
})

describe('compileRule', () => {
  it('runs a tumbling window by hand the way the window operator will', () => {
    // window-semantics.md, first example: events (ts, v) into 10 s windows.
    const rule = compileRule(planOf('SELECT count(*) AS c, sum(v) AS total, window_start() AS ws, window_end() AS we FROM s WHERE v IS NOT NULL GROUP BY TUMBLINGWINDOW(ss, 10)'))
    const events = [[1000, 1], [2000, 2], [9999, 3], [10000, 4], [15000, 5], [25000, 6]]
    const windows = new Map<number, ReturnType<typeof rule.aggregates[0]['create']>[]>()
    const size = rule.plan.window?.kind === 'tumbling' ? rule.plan.window.sizeMs : 0
    for (const [ts, v] of events) {
      const r = row({v})
      if (!rule.where?.(r)) continue
      const start = Math.floor(ts / size) * size
      let accs = windows.get(start)
      if (!accs) windows.set(start, (accs = rule.aggregates.map((a) => a.create())))
      rule.aggregates.forEach((a, i) => accs[i].add(a.value(r)))
    }
    const out = [...windows].map(([start, accs]) => projectOne(rule, row({}, {window: {start, end: start + size}, aggregates: accs.map((a) => a.result())})))
    expect(out).toEqual([
      {c: 3, total: 6, ws: 0, we: 10000},
      {c: 2, total: 9, ws: 10000, we: 20000},
      {c: 1, total: 6, ws: 20000, we: 30000},
    ])
  })

  it('projects * with the payload fields', () => {
    const rule = compileRule(planOf('SELECT *, meta(topic) AS topic FROM s'))
    expect(projectOne(rule, row({a: 1, b: 2}, {meta: {topic: 'x'}}))).toEqual({a: 1, b: 2, topic: 'x'})
  })
})

/** The one row a projection gives (rules without unnest give one, or none when every column is null). */
function projectOne(rule: {project(row: RowContext, out: Record<string, unknown>[]): void}, r: RowContext): Record<string, unknown> {
  const out: Record<string, unknown>[] = []
  rule.project(r, out)
  return out[0] ?? {}
}
