import {describe, expect, it} from 'vitest'
import {compileExpression, ExpressionError, parseExpression, type ExprValue} from '../../../src/sim/generators/index.js'

const evaluate = (text: string, vars: Record<string, ExprValue> = {}) => compileExpression(parseExpression(text).ast)((p) => vars[p])

describe('derived expressions', () => {
  it('follows arithmetic precedence and associativity', () => {
    expect(evaluate('1 + 2 * 3')).toBe(7)
    expect(evaluate('(1 + 2) * 3')).toBe(9)
    expect(evaluate('2 ^ 3 ^ 2')).toBe(512)
    expect(evaluate('-2 ^ 2')).toBe(-4)
    expect(evaluate('10 - 4 - 3')).toBe(3)
    expect(evaluate('7 % 4 * 2')).toBe(6)
    expect(evaluate('8 / 4 / 2')).toBe(1)
  })

  it('supports comparisons, logic and the ternary', () => {
    expect(evaluate('a > 3 && b < 2 || !c', {a: 5, b: 1, c: true})).toBe(true)
    expect(evaluate('a >= 10 ? "hot" : a >= 5 ? "warm" : "cold"', {a: 7})).toBe('warm')
    expect(evaluate('$mode == "fault" ? 0 : 1', {$mode: 'fault'})).toBe(0)
    expect(evaluate('1 != 2')).toBe(true)
  })

  it('calls functions and reads field paths', () => {
    expect(evaluate('round(gps.speed * 1.5, 1)', {'gps.speed': 33.33})).toBe(50)
    expect(evaluate('clamp(x, 0, 10) + max(1, 4, 2) + min(3, 2) + abs(-1) + floor(1.7) + ceil(1.2) + sqrt(16) + pow(2, 3)', {x: 42})).toBe(10 + 4 + 2 + 1 + 1 + 2 + 4 + 8)
    expect(evaluate('exp(0) + log(1)')).toBe(1)
    expect(parseExpression('voltage * current * pf + gps.speed').refs.map((r) => r.path)).toEqual(['voltage', 'current', 'pf', 'gps.speed'])
  })

  it.each([
    ['1 + ', 5, 'unexpected end of expression'],
    ['a * * b', 5, 'unexpected "*"'],
    ['(a + b', 7, 'expected ")"'],
    ['foo(1)', 1, 'unknown function "foo"'],
    ['clamp(1, 2)', 1, 'takes 3 arguments'],
    ['a # b', 3, 'unexpected character "#"'],
    ['"open', 1, 'unterminated string'],
  ])('reports %j at column %i', (text, column, words) => {
    let error: unknown
    try {
      parseExpression(text)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ExpressionError)
    expect((error as ExpressionError).column).toBe(column)
    expect((error as ExpressionError).message).toContain(words)
  })
})
