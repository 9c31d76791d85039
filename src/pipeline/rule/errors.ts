/**
 * Errors of the rule language. Both carry a position in the rule text so `pipeline lint` can turn it into
 * file:line:col (the rule's own line/col plus where the rule sits in the YAML file).
 */
import {EXIT_CODES, IotdError} from '../../errors.js'

export interface RulePosition {
  /** 1-based */
  line: number
  /** 1-based, in UTF-16 code units like the rest of JavaScript */
  col: number
  /** 0-based offset into the rule text */
  offset: number
}

/**
 * The source line holding `pos` and a caret line under it:
 *
 *   SELECT a FROM s WHERE temp >
 *                               ^
 */
export function formatCaret(sql: string, pos: RulePosition): string {
  const lines = sql.split('\n')
  const text = (lines[pos.line - 1] ?? '').replace(/\r$/, '').replace(/\t/g, ' ')
  const pad = ' '.repeat(Math.max(0, Math.min(pos.col - 1, text.length)))
  return `${text}\n${pad}^`
}

export class RuleSyntaxError extends IotdError implements RulePosition {
  readonly line: number
  readonly col: number
  readonly offset: number
  /** Short phrase of what would have been accepted, e.g. "an expression" or "FROM, ',' or AS". */
  readonly expected: string
  /** What was there instead, e.g. "end of input" or "keyword FROM". */
  readonly found: string
  /** The message without the position prefix. */
  readonly detail: string

  constructor(detail: string, pos: RulePosition, expected = '', found = '') {
    super(`line ${pos.line}, col ${pos.col}: ${detail}`, EXIT_CODES.usage)
    this.name = 'RuleSyntaxError'
    this.detail = detail
    this.line = pos.line
    this.col = pos.col
    this.offset = pos.offset
    this.expected = expected
    this.found = found
  }

  /** The message, the offending line and a caret under the position. */
  formatWithCaret(sql: string): string {
    return `${this.message}\n${formatCaret(sql, this)}`
  }
}

export interface RuleProblem extends RulePosition {
  message: string
}

/** One or more problems found while planning (resolving names, checking functions and windows). */
export class RulePlanError extends IotdError implements RulePosition {
  readonly problems: RuleProblem[]
  readonly line: number
  readonly col: number
  readonly offset: number

  constructor(problems: RuleProblem[]) {
    super(problems.map((p) => `line ${p.line}, col ${p.col}: ${p.message}`).join('\n'), EXIT_CODES.usage)
    this.name = 'RulePlanError'
    this.problems = problems
    const first = problems[0] ?? {line: 1, col: 1, offset: 0}
    this.line = first.line
    this.col = first.col
    this.offset = first.offset
  }

  formatWithCaret(sql: string): string {
    return this.problems.map((p) => `line ${p.line}, col ${p.col}: ${p.message}\n${formatCaret(sql, p)}`).join('\n')
  }
}
