import {describe, expect, it} from 'vitest'
import {parseRule, RuleSyntaxError} from '../../../src/pipeline/rule/index.js'

function syntaxError(sql: string): RuleSyntaxError {
  try {
    parseRule(sql)
  } catch (error) {
    if (error instanceof RuleSyntaxError) return error
    throw error
  }
  throw new Error(`parsed: ${sql}`)
}

// [rule, line, col, message]
const CASES: [string, number, number, string][] = [
  ['SELECT a FROM s WHERE temp >', 1, 29, "expected an expression after '>', found end of input"],
  ['SELECT a + FROM s', 1, 12, "expected an expression after '+', found keyword FROM"],
  ['SELECT FROM s', 1, 8, "expected an expression after 'SELECT', found keyword FROM"],
  ['', 1, 1, 'expected SELECT, found end of input'],
  ['SELEC a FROM s', 1, 1, "expected SELECT, found 'SELEC'; did you mean SELECT?"],
  ['SELECT a FRM s', 1, 10, "expected AS, ',', FROM or an operator after 'a', found 'FRM'; did you mean FROM?"],
  ['SELECT a FORM s', 1, 10, "found 'FORM'; did you mean FROM?"],
  ['SELECT a FROM s GROUP deviceId', 1, 23, "found 'deviceId'"],
  ['SELECT a, FROM s', 1, 11, "expected an expression after ',', found keyword FROM"],
  ['SELECT a FROM', 1, 14, 'expected a quoted topic filter or a name'],
  ['SELECT a FROM s WHERE', 1, 22, "expected an expression after 'WHERE', found end of input"],
  ["SELECT 'abc FROM s", 1, 8, "unterminated string: missing closing '"],
  ['SELECT "abc FROM s', 1, 8, 'unterminated quoted name: missing closing "'],
  ['SELECT a FROM "a/b', 1, 15, 'unterminated topic filter'],
  ['SELECT a FROM s /* note', 1, 17, 'unterminated comment: missing */'],
  ['SELECT a FROM s WHERE x IN 1, 2', 1, 28, "expected '(' after 'IN', found number 1"],
  ['SELECT a FROM s WHERE x IN ()', 1, 29, 'expected an expression'],
  ['SELECT a FROM s GROUP deviceId', 1, 23, "expected BY after 'GROUP', found 'deviceId'"],
  ['SELECT a FROM s LIMIT ten', 1, 23, "expected an integer after 'LIMIT', found 'ten'"],
  ['SELECT CASE WHEN a THEN 1 FROM s', 1, 27, 'expected WHEN, ELSE, END or an operator'],
  ['SELECT a FROM s WHERE a = = 1', 1, 27, "expected an expression after '=', found '='"],
  ['SELECT a FROM s WHERE (a > 1', 1, 29, "expected ')'"],
  ['SELECT a FROM s WHERE a ## b', 1, 25, "found '#'"],
  ['SELECT f(a,) FROM s', 1, 12, "expected an expression after ',', found ')'"],
  ['SELECT a FROM s GROUP BY TUMBLINGWINDOW(ss, 1), COUNTWINDOW(2)', 1, 49, 'GROUP BY may hold only one window'],
  ['SELECT a\nFROM s\nWHERE x BETWEEN 1', 3, 18, "expected an operator after '1', found end of input"],
  ['SELECT a FROM s WHERE x IS 1', 1, 28, "expected NULL or NOT after 'IS', found number 1"],
  ['SELECT select FROM s', 1, 8, 'expected an expression'],
  ['SELECT a FROM s RIGHT JOIN t ON a = b', 1, 17, "found keyword RIGHT"],
  ['SELECT a FROM s WHERE x = 1 garbage', 1, 29, "found 'garbage'"],
  ['SELECT a FROM s\u0000', 1, 16, 'found control character U+0000'],
]

describe('syntax errors', () => {
  it('suggests a keyword only for a slip of one: a name far from every keyword expected gets none', () => {
    expect(syntaxError('SELECT a FROM s GROUP deviceId').message).not.toContain('did you mean')
    expect(syntaxError('SELECT a FROM s WHERE x = 1 garbage').message).not.toContain('did you mean')
  })

  it.each(CASES)('%j -> line %i, col %i', (sql, line, col, message) => {
    const err = syntaxError(sql)
    expect({line: err.line, col: err.col}).toEqual({line, col})
    expect(err.message).toContain(message)
    expect(err.message.startsWith(`line ${line}, col ${col}: `)).toBe(true)
    expect(err.exitCode).toBe(2)
  })

  it('draws a caret under the position', () => {
    const sql = 'SELECT a\nFROM s\nWHERE temp >'
    expect(syntaxError(sql).formatWithCaret(sql)).toBe(
      "line 3, col 13: expected an expression after '>', found end of input\nWHERE temp >\n            ^",
    )
  })

  it('keeps offset, expected and found as fields', () => {
    const err = syntaxError('SELECT a FROM s WHERE temp > ')
    expect(err.offset).toBe(29)
    expect(err.expected).toBe('an expression')
    expect(err.found).toBe('end of input')
  })

  it('turns a stack overflow from deep nesting into a syntax error', () => {
    const deep = `SELECT ${'('.repeat(50_000)}1${')'.repeat(50_000)} FROM s`
    expect(syntaxError(deep).message).toContain('nested too deeply')
  })
})
