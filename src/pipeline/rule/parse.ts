/**
 * Text -> AST, with syntax errors a person can act on: peggy's list of expected tokens is folded into a short
 * phrase ("an expression", "FROM, ',' or AS") and the offending token is named.
 */
import type {Expr, RuleAst} from './ast.js'
import {RuleSyntaxError, type RulePosition} from './errors.js'
import {WINDOW_CALLS} from '../window/kinds.js'
import {closestName} from '../../config/did-you-mean.js'
import {parse as peggyParse, SyntaxError as PeggySyntaxError, type PeggyExpectation} from './sql-parser.generated.js'

/** Parses one rule (`SELECT … FROM …`). Throws RuleSyntaxError and nothing else. */
export function parseRule(sql: string): RuleAst {
  return runParser(sql, 'Statement') as RuleAst
}

/** Parses a standalone expression (e.g. a condition in a pipeline file). Throws RuleSyntaxError and nothing else. */
export function parseExpression(text: string): Expr {
  return runParser(text, 'ExpressionOnly') as Expr
}

function runParser(text: string, startRule: 'Statement' | 'ExpressionOnly'): unknown {
  if (typeof text !== 'string') throw new RuleSyntaxError('a rule must be a string', {line: 1, col: 1, offset: 0})
  try {
    return peggyParse(text, {startRule, windowCalls: WINDOW_CALLS})
  } catch (error) {
    if (error instanceof PeggySyntaxError) throw humanize(error, text)
    // Thousands of nested parentheses exhaust the stack of a recursive-descent parser.
    if (error instanceof RangeError) {
      throw new RuleSyntaxError('the rule is nested too deeply', {line: 1, col: 1, offset: 0}, '', '')
    }
    throw error
  }
}

const KEYWORDS = new Set([
  'select', 'from', 'where', 'group', 'by', 'having', 'order', 'limit', 'as', 'join', 'left', 'inner', 'outer',
  'on', 'and', 'or', 'not', 'in', 'between', 'like', 'is', 'null', 'true', 'false', 'case', 'when', 'then',
  'else', 'end', 'filter', 'over', 'asc', 'desc', 'partition', 'right', 'full', 'cross',
])

/** Tokens that continue an expression; listed together they read as "an operator". */
const OPERATOR_TOKENS = new Set([
  "'+'", "'-'", "'*'", "'/'", "'%'", "'->'", "'.'", "'['", 'comparison operator',
  'IS', 'NOT', 'IN', 'BETWEEN', 'LIKE', 'AND', 'OR',
])

/** Tokens that start an expression; when "an expression" is expected they add nothing. */
const EXPRESSION_STARTERS = new Set([
  "'('", "'+'", "'-'", 'CASE', 'TRUE', 'FALSE', 'NULL', 'META', 'MQTT', 'a name', 'a quoted name', 'a number', 'a string',
])

const DESCRIPTIONS: Record<string, string> = {
  expression: 'an expression',
  name: 'a name',
  'quoted name': 'a quoted name',
  number: 'a number',
  integer: 'an integer',
  string: 'a string',
  'quoted topic filter': 'a quoted topic filter',
  'window function': 'a window (TUMBLINGWINDOW, HOPPINGWINDOW, SLIDINGWINDOW, SESSIONWINDOW, COUNTWINDOW)',
  'comparison operator': 'comparison operator',
}

function describeExpectation(e: PeggyExpectation): string | undefined {
  switch (e.type) {
    case 'literal': {
      const text = e.text ?? ''
      return /^[a-z]+$/i.test(text) ? text.toUpperCase() : `'${text}'`
    }
    case 'class':
      // Only the multiplicative operators are written as a class in the grammar; digit/space classes are noise.
      return undefined
    case 'end':
      return 'end of input'
    case 'other':
      if (e.description === 'whitespace') return undefined
      return DESCRIPTIONS[e.description ?? ''] ?? e.description
    default:
      return undefined
  }
}

/** Folds peggy's expectation list into a phrase such as "an expression" or "FROM, ',', AS or an operator". */
export function summarizeExpected(expected: readonly PeggyExpectation[]): string {
  const items: string[] = []
  let operator = false
  let openParen = false
  let end = false
  const operatorWords = new Set<string>()
  for (const e of expected) {
    if (e.type === 'class' && e.parts?.includes('*')) operator = true
    const d = describeExpectation(e)
    if (d === undefined) continue
    if (d === "'('") openParen = true
    else if (d === 'end of input') end = true
    else if (OPERATOR_TOKENS.has(d)) operatorWords.add(d)
    else if (!items.includes(d)) items.push(d)
  }
  // Keyword operators alone (BETWEEN x AND …, IS NOT NULL) are worth naming; mixed with symbols they read as noise.
  for (const d of operatorWords) if (!/^[A-Z]+$/.test(d)) operator = true
  if (!operator) items.push(...operatorWords)
  const wantsExpression = items.includes('an expression')
  let kept = wantsExpression ? items.filter((d) => !EXPRESSION_STARTERS.has(d)) : items
  if (kept.includes('a name')) kept = kept.filter((d) => d !== 'a quoted name')
  // "an expression" is what a user most likely forgot, and it covers everything an operator would continue.
  kept.sort((a, b) => Number(b === 'an expression') - Number(a === 'an expression'))
  if (kept.length > 5) kept = [...kept.slice(0, 4), '…']
  // A '(' after a name only continues a function call: worth naming on its own (`IN (`), noise next to operators.
  if (openParen && !operator && !wantsExpression) kept.push("'('")
  if (operator && !wantsExpression) kept.push('an operator')
  if (end) kept.push('end of input')
  if (kept.length === 0) return 'something else'
  if (kept.length === 1) return kept[0]
  return `${kept.slice(0, -1).join(', ')} or ${kept[kept.length - 1]}`
}

const WORD = /[A-Za-z0-9_]/

/** Names the token at `offset` for a message: "end of input", "keyword FROM", "'tmep'", "'#'". */
export function describeTokenAt(text: string, offset: number): string {
  if (offset >= text.length) return 'end of input'
  const ch = text[offset]
  if (WORD.test(ch)) {
    let end = offset
    while (end < text.length && WORD.test(text[end])) end++
    const word = text.slice(offset, end)
    if (/^[0-9]/.test(word)) return `number ${shorten(word)}`
    return KEYWORDS.has(word.toLowerCase()) ? `keyword ${word.toUpperCase()}` : `'${shorten(word)}'`
  }
  if (ch === "'") return 'a string'
  if (ch === '\n' || ch === '\r') return 'end of line'
  const cp = text.codePointAt(offset) ?? 0
  if (cp < 0x20 || cp === 0x7f) return `control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`
  const two = text.slice(offset, offset + 2)
  if (['<=', '>=', '<>', '!=', '==', '->'].includes(two)) return `'${two}'`
  return `'${String.fromCodePoint(cp)}'`
}

/** The token just before `offset` (skipping whitespace), or undefined at the start of the text. */
export function tokenBefore(text: string, offset: number): string | undefined {
  let end = Math.min(offset, text.length)
  while (end > 0 && /\s/.test(text[end - 1])) end--
  if (end === 0) return undefined
  let start = end - 1
  if (WORD.test(text[start])) {
    while (start > 0 && WORD.test(text[start - 1])) start--
  } else if (start > 0 && ['<=', '>=', '<>', '!=', '==', '->'].includes(text.slice(start - 1, end))) {
    start--
  }
  return shorten(text.slice(start, end))
}

function shorten(s: string): string {
  return s.length > 24 ? `${s.slice(0, 21)}…` : s
}

function humanize(error: InstanceType<typeof PeggySyntaxError>, text: string): RuleSyntaxError {
  const start = error.location.start
  const pos: RulePosition = {line: start.line, col: start.column, offset: start.offset}
  const found = describeTokenAt(text, start.offset)
  if (!error.expected) {
    // Raised by an action in the grammar (unterminated string, two windows…): its message is already phrased.
    return new RuleSyntaxError(error.message, pos, '', found)
  }
  const expected = summarizeExpected(error.expected)
  const before = tokenBefore(text, start.offset)
  const after = before === undefined ? '' : ` after '${before}'`
  const hint = misspeltKeyword(text, start.offset, error.expected)
  return new RuleSyntaxError(`expected ${expected}${after}, found ${found}${hint ? `; did you mean ${hint}?` : ''}`, pos, expected, found)
}

/** The keyword a plain word where keywords were expected is a slip of (`SELEC` for SELECT, `FORM` for FROM). */
function misspeltKeyword(text: string, offset: number, expected: readonly PeggyExpectation[]): string | undefined {
  const word = /^[A-Za-z_]+/.exec(text.slice(offset))?.[0]
  if (!word || KEYWORDS.has(word.toLowerCase())) return undefined
  const keywords = expected.filter((e) => e.type === 'literal' && /^[a-z]+$/i.test(e.text ?? '')).map((e) => (e.text ?? '').toUpperCase())
  return closestName(word, keywords)
}
