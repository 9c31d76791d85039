import {describe, expect, it} from 'vitest'
import {parseExpression, parseRule, type Expr} from '../../../src/pipeline/rule/index.js'

/** The AST without positions, for compact expectations. */
function strip<T>(v: T): unknown {
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === 'loc' ? undefined : x)))
}

const e = (text: string): unknown => strip(parseExpression(text))
const ref = (name: string, path: unknown[] = [], quoted = false) => ({kind: 'ref', name, quoted, path})
const lit = (value: unknown) => ({kind: 'literal', value})

describe('parseRule: statements', () => {
  it('parses a full rule with every clause', () => {
    const ast = parseRule(`SELECT deviceId, avg(temp) AS t, d.site, count(*) FROM "factory/+/temp" AS s
      LEFT JOIN devices d ON s.deviceId = d.id
      WHERE temp > 10
      GROUP BY deviceId, TUMBLINGWINDOW(ss, 10) FILTER (WHERE temp < 200)
      HAVING avg(temp) > 3 ORDER BY t DESC, deviceId LIMIT 5;`)
    expect(ast.kind).toBe('select')
    expect(strip(ast.from)).toEqual({kind: 'topic', filter: 'factory/+/temp', alias: 's'})
    expect(ast.fields).toHaveLength(4)
    expect(strip(ast.fields[1])).toEqual({kind: 'field', expr: {kind: 'call', name: 'avg', args: [ref('temp')], star: false}, alias: 't'})
    expect(strip(ast.fields[3])).toEqual({kind: 'field', expr: {kind: 'call', name: 'count', args: [], star: true}})
    expect(strip(ast.joins)).toEqual([{
      kind: 'join', type: 'left', table: 'devices', alias: 'd',
      on: {kind: 'binary', op: '=', left: ref('s', [{kind: 'member', name: 'deviceId', arrow: false}]), right: ref('d', [{kind: 'member', name: 'id', arrow: false}])},
    }])
    expect(strip(ast.groupBy?.keys)).toEqual([ref('deviceId')])
    expect(strip(ast.groupBy?.window)).toEqual({
      kind: 'window', windowKind: 'tumbling',
      args: [{kind: 'unit', unit: 'ss'}, {kind: 'number', value: 10}],
      filter: {kind: 'binary', op: '<', left: ref('temp'), right: lit(200)},
    })
    expect(ast.orderBy?.map((o) => o.direction)).toEqual(['desc', 'asc'])
    expect(ast.limit).toBe(5)
    expect(ast.having?.kind).toBe('binary')
  })

  it('reads keywords in any case and keeps identifier case', () => {
    const ast = parseRule('select TempC from Telemetry where TempC > 1')
    expect(strip(ast.fields[0])).toEqual({kind: 'field', expr: ref('TempC')})
    expect(strip(ast.from)).toEqual({kind: 'stream', name: 'Telemetry'})
  })

  it('parses *, t.* and a source alias without AS', () => {
    const ast = parseRule('SELECT *, d.* FROM s x INNER JOIN devices AS d ON x.id = d.id')
    expect(strip(ast.fields)).toEqual([{kind: 'star'}, {kind: 'star', qualifier: 'd'}])
    expect(ast.from.alias).toBe('x')
    expect(ast.joins[0].type).toBe('inner')
  })

  it('parses a plain JOIN as inner and LEFT OUTER JOIN as left', () => {
    expect(parseRule('SELECT a FROM s JOIN t ON s.a = t.a').joins[0].type).toBe('inner')
    expect(parseRule('SELECT a FROM s LEFT OUTER JOIN t ON s.a = t.a').joins[0].type).toBe('left')
  })

  it.each([
    ['TUMBLINGWINDOW(ss, 10)', 'tumbling', 2],
    ['HOPPINGWINDOW(mi, 5, 1)', 'hopping', 3],
    ['SLIDINGWINDOW(ss, 10)', 'sliding', 2],
    ['SLIDINGWINDOW(ss, 10, 2) OVER (WHEN temp > 30)', 'sliding', 3],
    ['SESSIONWINDOW(hh, 1, 15)', 'session', 3],
    ['COUNTWINDOW(5)', 'count', 1],
    ['countwindow(5, 2) FILTER (WHERE ok)', 'count', 2],
  ])('parses %s', (text, kind, argc) => {
    const w = parseRule(`SELECT count(*) FROM s GROUP BY ${text}`).groupBy?.window
    expect(w?.windowKind).toBe(kind)
    expect(w?.args).toHaveLength(argc)
  })

  it('keeps the window wherever it sits in GROUP BY', () => {
    const g = parseRule('SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(ss, 1), a, b').groupBy
    expect(g?.window?.windowKind).toBe('tumbling')
    expect(strip(g?.keys)).toEqual([ref('a'), ref('b')])
  })

  it('skips -- and /* */ comments', () => {
    const ast = parseRule('SELECT a -- the value\n, /* second */ b FROM s /* done */')
    expect(ast.fields).toHaveLength(2)
  })

  it('unescapes doubled quotes in topics, strings and names', () => {
    expect(parseRule(`SELECT 'it''s' AS "a ""b""" FROM 'o''brien/#'`).from).toMatchObject({kind: 'topic', filter: "o'brien/#"})
    expect(strip(parseExpression("'it''s'"))).toEqual(lit("it's"))
    expect(strip(parseExpression('`a "b"`'))).toEqual(ref('a "b"', [], true))
    // eKuiper: double quotes make a string, as single quotes do (issue #16, item 3).
    expect(strip(parseExpression('"a ""b"""'))).toEqual({...lit('a "b"'), quote: 'double'})
    expect(strip(parseExpression('`select`'))).toEqual(ref('select', [], true))
  })

  it('records positions of nodes', () => {
    const ast = parseRule('SELECT a\nFROM s\nWHERE  temp > 1')
    expect(ast.where?.loc).toMatchObject({line: 3, col: 8, offset: 23})
  })
})

describe('parseExpression: expressions', () => {
  it('parses literals', () => {
    expect(e('42')).toEqual(lit(42))
    expect(e('1.5e3')).toEqual(lit(1500))
    expect(e('.5')).toEqual(lit(0.5))
    expect(e('-3')).toEqual(lit(-3))
    expect(e("'x'")).toEqual(lit('x'))
    expect(e('TRUE')).toEqual(lit(true))
    expect(e('false')).toEqual(lit(false))
    expect(e('Null')).toEqual(lit(null))
  })

  it('parses field paths', () => {
    expect(e('a.b')).toEqual(ref('a', [{kind: 'member', name: 'b', arrow: false}]))
    expect(e('a->b->c')).toEqual(ref('a', [{kind: 'member', name: 'b', arrow: true}, {kind: 'member', name: 'c', arrow: true}]))
    expect(e('a[0][-1]')).toEqual(ref('a', [{kind: 'index', index: 0}, {kind: 'index', index: -1}]))
    expect(e("a['odd key']")).toEqual(ref('a', [{kind: 'member', name: 'odd key', arrow: true}]))
    expect(e('parse_json(raw)->a')).toEqual({kind: 'access', target: {kind: 'call', name: 'parse_json', args: [ref('raw')], star: false}, path: [{kind: 'member', name: 'a', arrow: true}]})
  })

  it('parses meta(), function calls, count(*) and OVER (PARTITION BY)', () => {
    expect(e('meta(topic)')).toEqual({kind: 'meta', key: 'topic', fn: 'meta'})
    expect(e('META(*)')).toEqual({kind: 'meta', key: '*', fn: 'meta'})
    expect(e('mqtt(topic)')).toEqual({kind: 'meta', key: 'topic', fn: 'mqtt'})
    expect(e('Round(x, 2)')).toEqual({kind: 'call', name: 'round', args: [ref('x'), lit(2)], star: false})
    expect(e('now()')).toEqual({kind: 'call', name: 'now', args: [], star: false})
    expect(e('count(*)')).toEqual({kind: 'call', name: 'count', args: [], star: true})
    expect(e('lag(t) OVER (PARTITION BY dev)')).toEqual({kind: 'call', name: 'lag', args: [ref('t')], star: false, partitionBy: [ref('dev')]})
  })

  it('applies precedence: * over +, + over comparison, comparison over NOT, NOT over AND, AND over OR', () => {
    expect(e('1 + 2 * 3')).toEqual({kind: 'binary', op: '+', left: lit(1), right: {kind: 'binary', op: '*', left: lit(2), right: lit(3)}})
    expect(e('a - b - c')).toEqual({kind: 'binary', op: '-', left: {kind: 'binary', op: '-', left: ref('a'), right: ref('b')}, right: ref('c')})
    const x = parseExpression('NOT a = 1 AND b OR c') as Expr
    expect(strip(x)).toEqual({
      kind: 'binary', op: 'or',
      left: {kind: 'binary', op: 'and', left: {kind: 'unary', op: 'not', operand: {kind: 'binary', op: '=', left: ref('a'), right: lit(1)}}, right: ref('b')},
      right: ref('c'),
    })
    expect(e('-(a)')).toEqual({kind: 'unary', op: '-', operand: ref('a')})
  })

  it('normalises == to = and <> to !=', () => {
    expect(e('a == 1')).toMatchObject({op: '='})
    expect(e('a <> 1')).toMatchObject({op: '!='})
    expect(e('a != 1')).toMatchObject({op: '!='})
  })

  it('parses IN, NOT IN, BETWEEN, LIKE, IS [NOT] NULL', () => {
    expect(e('a IN (1, 2)')).toEqual({kind: 'in', operand: ref('a'), list: [lit(1), lit(2)], negated: false})
    expect(e('a NOT IN (1)')).toMatchObject({kind: 'in', negated: true})
    expect(e('a BETWEEN 1 AND 2 AND b')).toMatchObject({kind: 'binary', op: 'and', left: {kind: 'between', low: lit(1), high: lit(2)}})
    expect(e('a NOT BETWEEN 1 AND 2')).toMatchObject({kind: 'between', negated: true})
    expect(e("t LIKE 'acme/%'")).toEqual({kind: 'like', operand: ref('t'), pattern: lit('acme/%'), negated: false})
    expect(e("t NOT LIKE 'x'")).toMatchObject({kind: 'like', negated: true})
    expect(e('a IS NULL')).toEqual({kind: 'isNull', operand: ref('a'), negated: false})
    expect(e('a IS NOT NULL')).toMatchObject({kind: 'isNull', negated: true})
  })

  it('parses both CASE forms', () => {
    expect(e("CASE WHEN a > 1 THEN 'hi' ELSE 'lo' END")).toEqual({
      kind: 'case', whens: [{when: {kind: 'binary', op: '>', left: ref('a'), right: lit(1)}, then: lit('hi')}], else: lit('lo'),
    })
    expect(e('CASE s WHEN 1 THEN 2 WHEN 3 THEN 4 END')).toEqual({
      kind: 'case', operand: ref('s'), whens: [{when: lit(1), then: lit(2)}, {when: lit(3), then: lit(4)}],
    })
  })
})
