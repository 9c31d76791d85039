/**
 * The small expression language of `derived` fields: arithmetic, comparisons, logic, a ternary and a few
 * math functions over other fields. Parsed once (recursive descent) to an AST and compiled to closures;
 * user text is never handed to eval or new Function.
 *
 * Precedence, loosest first: `c ? a : b`, `||`, `&&`, `== !=`, `< <= > >=`, `+ -`, `* / %`, unary `- !`, `^`
 * (right-associative, so -2^2 = -4).
 */

export type ExprValue = number | string | boolean

export type ExprNode =
  | {type: 'literal'; value: ExprValue}
  | {type: 'ref'; path: string; pos: number}
  | {type: 'unary'; op: '-' | '!'; arg: ExprNode}
  | {type: 'binary'; op: BinaryOp; left: ExprNode; right: ExprNode}
  | {type: 'ternary'; test: ExprNode; then: ExprNode; else: ExprNode}
  | {type: 'call'; name: string; args: ExprNode[]; pos: number}

type BinaryOp = '+' | '-' | '*' | '/' | '%' | '^' | '<' | '<=' | '>' | '>=' | '==' | '!=' | '&&' | '||'

/** A syntax or reference error; `column` is 1-based inside the expression text. */
export class ExpressionError extends Error {
  readonly column: number
  constructor(message: string, column: number) {
    super(message)
    this.name = 'ExpressionError'
    this.column = column
  }
}

const FUNCTIONS: Record<string, {arity: [number, number]; fn: (...a: number[]) => number}> = {
  abs: {arity: [1, 1], fn: Math.abs},
  min: {arity: [1, Infinity], fn: Math.min},
  max: {arity: [1, Infinity], fn: Math.max},
  round: {arity: [1, 2], fn: (x, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits},
  floor: {arity: [1, 1], fn: Math.floor},
  ceil: {arity: [1, 1], fn: Math.ceil},
  sqrt: {arity: [1, 1], fn: Math.sqrt},
  pow: {arity: [2, 2], fn: Math.pow},
  exp: {arity: [1, 1], fn: Math.exp},
  log: {arity: [1, 1], fn: Math.log},
  clamp: {arity: [3, 3], fn: (x, lo, hi) => Math.min(hi, Math.max(lo, x))},
}

export const EXPRESSION_FUNCTIONS = Object.keys(FUNCTIONS)

interface Token {
  kind: 'num' | 'str' | 'ident' | 'op' | 'end'
  text: string
  value?: number | string
  pos: number
}

const OPERATORS = ['<=', '>=', '==', '!=', '&&', '||', '+', '-', '*', '/', '%', '^', '<', '>', '!', '?', ':', '(', ')', ',']

function tokenize(text: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < text.length) {
    const ch = text[i]
    if (/\s/.test(ch)) {
      i++
      continue
    }
    const num = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i))
    if (num) {
      tokens.push({kind: 'num', text: num[0], value: Number(num[0]), pos: i})
      i += num[0].length
      continue
    }
    const ident = /^\$?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(text.slice(i))
    if (ident) {
      tokens.push({kind: 'ident', text: ident[0], pos: i})
      i += ident[0].length
      continue
    }
    if (ch === '"' || ch === "'") {
      const end = text.indexOf(ch, i + 1)
      if (end < 0) throw new ExpressionError('unterminated string', i + 1)
      tokens.push({kind: 'str', text: text.slice(i, end + 1), value: text.slice(i + 1, end), pos: i})
      i = end + 1
      continue
    }
    const op = OPERATORS.find((o) => text.startsWith(o, i))
    if (!op) throw new ExpressionError(`unexpected character "${ch}"`, i + 1)
    tokens.push({kind: 'op', text: op, pos: i})
    i += op.length
  }
  tokens.push({kind: 'end', text: 'end of expression', pos: text.length})
  return tokens
}

class Parser {
  private i = 0
  constructor(private readonly tokens: Token[]) {}

  parse(): ExprNode {
    const node = this.ternary()
    const t = this.peek()
    if (t.kind !== 'end') throw this.unexpected(t)
    return node
  }

  private peek(): Token {
    return this.tokens[this.i]
  }

  private take(): Token {
    return this.tokens[this.i++]
  }

  private accept(op: string): boolean {
    const t = this.peek()
    if (t.kind === 'op' && t.text === op) {
      this.i++
      return true
    }
    return false
  }

  private expect(op: string): void {
    if (!this.accept(op)) {
      const t = this.peek()
      throw new ExpressionError(`expected "${op}" but found ${describe(t)}`, t.pos + 1)
    }
  }

  private unexpected(t: Token): ExpressionError {
    return new ExpressionError(`unexpected ${describe(t)}`, t.pos + 1)
  }

  private ternary(): ExprNode {
    const test = this.binary(0)
    if (!this.accept('?')) return test
    const then = this.ternary()
    this.expect(':')
    return {type: 'ternary', test, then, else: this.ternary()}
  }

  private static readonly LEVELS: BinaryOp[][] = [['||'], ['&&'], ['==', '!='], ['<', '<=', '>', '>='], ['+', '-'], ['*', '/', '%']]

  private binary(level: number): ExprNode {
    if (level === Parser.LEVELS.length) return this.unary()
    let left = this.binary(level + 1)
    for (;;) {
      const t = this.peek()
      const op = Parser.LEVELS[level].find((o) => t.kind === 'op' && t.text === o)
      if (!op) return left
      this.i++
      left = {type: 'binary', op, left, right: this.binary(level + 1)}
    }
  }

  private unary(): ExprNode {
    if (this.accept('-')) return {type: 'unary', op: '-', arg: this.unary()}
    if (this.accept('!')) return {type: 'unary', op: '!', arg: this.unary()}
    return this.power()
  }

  private power(): ExprNode {
    const base = this.primary()
    if (this.accept('^')) return {type: 'binary', op: '^', left: base, right: this.unary()}
    return base
  }

  private primary(): ExprNode {
    const t = this.take()
    if (t.kind === 'num' || t.kind === 'str') return {type: 'literal', value: t.value as number | string}
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.ternary()
      this.expect(')')
      return inner
    }
    if (t.kind === 'ident') {
      if (t.text === 'true' || t.text === 'false') return {type: 'literal', value: t.text === 'true'}
      if (this.accept('(')) return this.call(t)
      return {type: 'ref', path: t.text, pos: t.pos}
    }
    throw this.unexpected(t)
  }

  private call(name: Token): ExprNode {
    const fn = FUNCTIONS[name.text]
    if (!fn) throw new ExpressionError(`unknown function "${name.text}" (known: ${EXPRESSION_FUNCTIONS.join(', ')})`, name.pos + 1)
    const args: ExprNode[] = []
    if (!this.accept(')')) {
      do args.push(this.ternary())
      while (this.accept(','))
      this.expect(')')
    }
    const [lo, hi] = fn.arity
    if (args.length < lo || args.length > hi) {
      const want = lo === hi ? `${lo}` : hi === Infinity ? `at least ${lo}` : `${lo} or ${hi}`
      throw new ExpressionError(`${name.text}() takes ${want} argument${lo === 1 && hi === 1 ? '' : 's'}, got ${args.length}`, name.pos + 1)
    }
    return {type: 'call', name: name.text, args, pos: name.pos}
  }
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'end of expression' : `"${t.text}"`
}

export interface ParsedExpression {
  ast: ExprNode
  /** Every name the expression reads, with its 1-based column, in order of appearance. */
  refs: Array<{path: string; column: number}>
}

/** Parses an expression; throws ExpressionError with the column of the problem. */
export function parseExpression(text: string): ParsedExpression {
  const ast = new Parser(tokenize(text)).parse()
  const refs: ParsedExpression['refs'] = []
  const walk = (n: ExprNode): void => {
    switch (n.type) {
      case 'ref':
        refs.push({path: n.path, column: n.pos + 1})
        return
      case 'unary':
        return walk(n.arg)
      case 'binary':
        walk(n.left)
        return walk(n.right)
      case 'ternary':
        walk(n.test)
        walk(n.then)
        return walk(n.else)
      case 'call':
        return n.args.forEach(walk)
      case 'literal':
        return
    }
  }
  walk(ast)
  return {ast, refs}
}

/** Looks a name up at evaluation time (fields, `gps.speed` paths, `$dt` and the other built-ins). */
export type ExprScope = (path: string) => ExprValue

export type CompiledExpression = (scope: ExprScope) => ExprValue

function num(v: ExprValue): number {
  return typeof v === 'number' ? v : typeof v === 'boolean' ? (v ? 1 : 0) : Number(v)
}

function truthy(v: ExprValue): boolean {
  return typeof v === 'string' ? v.length > 0 : typeof v === 'number' ? v !== 0 && !Number.isNaN(v) : v
}

/** Compiles an AST to a tree of closures (evaluated millions of times, so no per-call interpretation). */
export function compileExpression(node: ExprNode): CompiledExpression {
  switch (node.type) {
    case 'literal': {
      const v = node.value
      return () => v
    }
    case 'ref': {
      const path = node.path
      return (scope) => scope(path)
    }
    case 'unary': {
      const arg = compileExpression(node.arg)
      return node.op === '-' ? (s) => -num(arg(s)) : (s) => !truthy(arg(s))
    }
    case 'ternary': {
      const test = compileExpression(node.test)
      const a = compileExpression(node.then)
      const b = compileExpression(node.else)
      return (s) => (truthy(test(s)) ? a(s) : b(s))
    }
    case 'call': {
      const fn = FUNCTIONS[node.name].fn
      const args = node.args.map(compileExpression)
      return (s) => fn(...args.map((a) => num(a(s))))
    }
    case 'binary':
      return compileBinary(node.op, compileExpression(node.left), compileExpression(node.right))
  }
}

function compileBinary(op: BinaryOp, l: CompiledExpression, r: CompiledExpression): CompiledExpression {
  switch (op) {
    case '+':
      return (s) => num(l(s)) + num(r(s))
    case '-':
      return (s) => num(l(s)) - num(r(s))
    case '*':
      return (s) => num(l(s)) * num(r(s))
    case '/':
      return (s) => num(l(s)) / num(r(s))
    case '%':
      return (s) => num(l(s)) % num(r(s))
    case '^':
      return (s) => num(l(s)) ** num(r(s))
    case '<':
      return (s) => num(l(s)) < num(r(s))
    case '<=':
      return (s) => num(l(s)) <= num(r(s))
    case '>':
      return (s) => num(l(s)) > num(r(s))
    case '>=':
      return (s) => num(l(s)) >= num(r(s))
    // Equality compares strings as strings (so `$mode == "fault"` works) and everything else as numbers.
    case '==':
      return (s) => equal(l(s), r(s))
    case '!=':
      return (s) => !equal(l(s), r(s))
    case '&&':
      return (s) => truthy(l(s)) && truthy(r(s))
    case '||':
      return (s) => truthy(l(s)) || truthy(r(s))
  }
}

function equal(a: ExprValue, b: ExprValue): boolean {
  if (typeof a === 'string' || typeof b === 'string') return String(a) === String(b)
  return num(a) === num(b)
}
