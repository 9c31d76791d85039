import {describe, expect, it} from 'vitest'
import {parseRule, planRule, RulePlanError, type RulePlan} from '../../../src/pipeline/rule/index.js'
import {planOf} from './helpers.js'

function planError(sql: string, options = {}): RulePlanError {
  try {
    planRule(parseRule(sql), options)
  } catch (error) {
    if (error instanceof RulePlanError) return error
    throw error
  }
  throw new Error(`planned: ${sql}`)
}

describe('planRule', () => {
  it('plans a windowed, joined rule', () => {
    const plan: RulePlan = planOf(`SELECT deviceId, avg(temp) AS t, max(temp), avg(temp) * 2 AS t2, d.site, window_end() AS we
      FROM "factory/+/temp" AS s LEFT JOIN devices d ON s.deviceId = d.id
      WHERE temp > 0 GROUP BY deviceId, HOPPINGWINDOW(mi, 5, 1) FILTER (WHERE meta(qos) > 0)
      HAVING t > 20 AND count(*) > 2`)
    expect(plan.source).toEqual({kind: 'topic', filter: 'factory/+/temp', alias: 's'})
    expect(plan.joins[0]).toMatchObject({type: 'left', table: 'devices', alias: 'd', on: {kind: 'compare', left: {kind: 'field', path: ['deviceId']}, right: {kind: 'tableField', table: 'd', path: ['id']}}})
    expect(plan.window).toMatchObject({kind: 'hopping', sizeMs: 300_000, hopMs: 60_000, filter: {kind: 'compare'}})
    // avg(temp) appears three times but is one accumulator; count(*) from HAVING is numbered too.
    expect(plan.aggregates.map((a) => `${a.index}:${a.name}${a.star ? '*' : ''}`)).toEqual(['0:avg', '1:max', '2:count*'])
    expect(plan.projections.map((p) => (p.kind === 'expr' ? p.name : '*'))).toEqual(['deviceId', 't', 'max', 't2', 'site', 'we'])
    expect(plan.groupKeys.map((k) => k.name)).toEqual(['deviceId'])
    expect(plan.having).toMatchObject({kind: 'logical', left: {kind: 'compare', left: {kind: 'aggregate', index: 0}}})
    expect(plan.analysis).toMatchObject({
      aggregating: true, windowed: true, topLevelFields: ['deviceId', 'temp'], tableFields: {d: ['id', 'site']},
      meta: ['qos'], usesWindowBounds: true, aliases: {t: 1, t2: 3, we: 5},
    })
    expect(plan.analysis.lastValueColumns).toEqual(['d.site'])
    expect(plan.warnings.map((w) => w.message)).toEqual([expect.stringContaining("column 'd.site' is neither aggregated nor in GROUP BY")])
  })

  it('converts every window kind to milliseconds', () => {
    const w = (g: string) => planOf(`SELECT count(*) FROM s GROUP BY ${g}`).window
    expect(w('TUMBLINGWINDOW(ss, 10)')).toMatchObject({kind: 'tumbling', sizeMs: 10_000})
    expect(w('TUMBLINGWINDOW(DD, 1)')).toMatchObject({sizeMs: 86_400_000})
    expect(w('TUMBLINGWINDOW(ms, 250)')).toMatchObject({sizeMs: 250})
    expect(w('SLIDINGWINDOW(ss, 10)')).toMatchObject({kind: 'sliding', sizeMs: 10_000, delayMs: 0})
    expect(w('SLIDINGWINDOW(ss, 10, 2) OVER (WHEN x > 1)')).toMatchObject({kind: 'sliding', delayMs: 2000, over: {kind: 'compare'}})
    expect(w('SESSIONWINDOW(hh, 1, 15)')).toMatchObject({kind: 'session', maxDurationMs: 3_600_000, timeoutMs: 54_000_000})
    expect(w('COUNTWINDOW(5)')).toMatchObject({kind: 'count', size: 5, hop: 5})
    expect(w('COUNTWINDOW(5, 2)')).toMatchObject({kind: 'count', size: 5, hop: 2})
  })

  it('resolves names: stream qualifier, nested paths, table columns, aliases in HAVING', () => {
    const plan = planOf('SELECT s.a, a.b, a->b, a[1], t.c, meta(topic) FROM src AS s JOIN t ON s.k = t.k')
    const exprs = plan.projections.map((p) => (p.kind === 'expr' ? p.expr : null))
    expect(exprs).toMatchObject([
      {kind: 'field', path: ['a']},
      {kind: 'field', path: ['a', 'b']},
      {kind: 'field', path: ['a', 'b']},
      {kind: 'field', path: ['a', 1]},
      {kind: 'tableField', table: 't', path: ['c']},
      {kind: 'meta', key: 'topic'},
    ])
    expect(plan.analysis.fields).toEqual(['a', 'a.b', 'a[1]', 'k'])
  })

  it('names unaliased columns like eKuiper', () => {
    const plan = planOf('SELECT a->b, abs(x), x + 1, meta(topic), y * 2 FROM s')
    expect(plan.projections.map((p) => (p.kind === 'expr' ? p.name : ''))).toEqual(['b', 'abs', 'kuiper_field_0', 'topic', 'kuiper_field_1'])
  })

  it('numbers stateful call sites', () => {
    const plan = planOf('SELECT lag(t), zscore(t, 10) AS z FROM s WHERE changed(t)')
    expect(plan.analysis.statefulSlots).toBe(3)
  })

  it.each([
    ['SELECT nosuch(a) FROM s', 'unknown function nosuch()'],
    ['SELECT avgg(a) FROM s', 'unknown function avgg(); did you mean avg()?'],
    ['SELECT a FROM s WHERE avg(a) > 1', 'aggregate avg() is not allowed in WHERE'],
    ['SELECT avg(a) FROM s', 'aggregate avg() needs a window'],
    ['SELECT a FROM s GROUP BY a', 'GROUP BY on a stream needs a window'],
    ['SELECT a FROM s HAVING a > 1', 'HAVING needs GROUP BY with a window'],
    ['SELECT avg(sum(a)) FROM s GROUP BY TUMBLINGWINDOW(ss, 1)', 'aggregate sum() is not allowed inside another aggregate'],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 0)', 'size must be greater than zero, got 0'],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, -5)', 'size must be greater than zero, got -5'],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(xx, 5)', "unknown time unit 'xx'"],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(5)', 'the first argument is a time unit'],
    ['SELECT count(*) FROM s GROUP BY HOPPINGWINDOW(ss, 5)', 'HOPPINGWINDOW(unit, size, hop) takes 3 argument(s), got 2'],
    ['SELECT count(*) FROM s GROUP BY COUNTWINDOW(2.5)', 'COUNTWINDOW: n must be a whole number'],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1) OVER (WHEN a > 1)', 'OVER (WHEN …) belongs to SLIDINGWINDOW only'],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ms, 0.5)', 'whole number of milliseconds'],
    ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1) FILTER (WHERE count(*) > 1)', 'not allowed in FILTER'],
    ['SELECT round(a, 1, 2) FROM s', 'round() takes 1 to 2 arguments (x, [d]), got 3'],
    ["SELECT abs('x') FROM s", "abs(): x (argument 1) must be a number, got the text 'x'"],
    ['SELECT sum(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1)', 'only count(*) takes *'],
    ["SELECT cast(a, 'date') FROM s", "cast: unknown type 'date'"],
    ['SELECT cast(a, b) FROM s', 'type must be written as a literal'],
    ['SELECT percentile(a, 95) FROM s GROUP BY TUMBLINGWINDOW(ss, 1)', 'p must be a number from 0 to 1'],
    ['SELECT zscore(a, 1) FROM s', 'zscore: n must be a whole number from 2'],
    ["SELECT regexp_matches(a, '(') FROM s", 'not a valid regular expression'],
    ['SELECT window_start() FROM s', 'window_start() needs a window in GROUP BY'],
    ['SELECT meta(nope) FROM s', "unknown metadata 'nope'"],
    ["SELECT a FROM s WHERE a LIKE 5", 'LIKE needs a text pattern'],
    ["SELECT 'a' + 1 FROM s", "'+' works on numbers"],
    ['SELECT a FROM "a/#/b"', 'is not a valid MQTT topic filter'],
    ['SELECT a FROM s WHERE TUMBLINGWINDOW(ss, 1)', 'TUMBLINGWINDOW is a window: put it in GROUP BY'],
    ['SELECT abs(a) OVER (PARTITION BY b) FROM s', 'OVER (PARTITION BY … WHEN …) applies to analytic functions'],
    ['SELECT d FROM s JOIN d ON s.a = d.a', "'d' is a joined table"],
  ])('%s -> %s', (sql, message) => {
    const err = planError(sql)
    expect(err.message).toContain(message)
    expect(err.exitCode).toBe(2)
    expect(err.line).toBeGreaterThanOrEqual(1)
  })

  it('a misspelt window is one error, with the window it is a slip of; no "needs a window" on top of it', () => {
    for (const sql of ['SELECT count(*) FROM s GROUP BY TUMBLINGWINDW(ss,10)', 'SELECT a FROM s GROUP BY a, hopingwindow(ss, 10, 5)']) {
      const err = planError(sql)
      expect(err.problems).toHaveLength(1)
      expect(err.problems[0].message).toMatch(/^unknown function \w+\(\); did you mean the window (TUMBLINGWINDOW\(unit, size\)|HOPPINGWINDOW\(unit, size, hop\))\?$/)
    }
    // A name far from every window is an unknown function, and the rule still lacks a window.
    expect(planError('SELECT count(*) FROM s GROUP BY nosuch(ss, 10)').problems.map((p) => p.message)).toEqual([
      'aggregate count() needs a window: add GROUP BY TUMBLINGWINDOW(ss, 10) or another window',
      'GROUP BY on a stream needs a window: add e.g. TUMBLINGWINDOW(ss, 10) to the GROUP BY list',
      'unknown function nosuch()',
    ])
  })

  it('points at the offending call and reports every problem', () => {
    const sql = 'SELECT nosuch(a), a\nFROM s WHERE avg(b) > 1'
    const err = planError(sql)
    expect(err.problems.map((p) => [p.line, p.col])).toEqual([[1, 8], [2, 14]])
    expect(err.formatWithCaret(sql)).toContain('FROM s WHERE avg(b) > 1\n             ^')
  })

  it('checks FROM and JOIN names against the declared sources and tables', () => {
    expect(planError('SELECT a FROM telemetri', {sources: ['telemetry']}).message).toContain("unknown source 'telemetri'; did you mean 'telemetry'?")
    expect(planError('SELECT a FROM s JOIN devics ON s.a = devics.a', {tables: ['devices']}).message).toContain("did you mean 'devices'?")
  })

  it('warns about a hop larger than the size; refuses ORDER BY and LIMIT without a window (issue #16, item 6)', () => {
    expect(planOf('SELECT count(*) FROM s GROUP BY HOPPINGWINDOW(ss, 5, 10)').warnings[0].message).toContain('larger than its size')
    expect(planError('SELECT a FROM s ORDER BY a').message).toContain('ORDER BY needs a window')
    const limit = planError('SELECT a FROM s WHERE a > 1 LIMIT 5')
    expect(limit.message).toContain('LIMIT needs a window')
    expect(limit.col).toBe(29)
  })
})
