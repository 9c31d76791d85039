/**
 * Positions in JSON text, for file:line:col messages about JSON files (bench results): where a syntax error is,
 * and where the value at a path is. JSON.parse on Node 20 often reports no position ("Unexpected token '}', ... is
 * not valid JSON"), and never the position of a value; this scanner walks the text only on error paths.
 * YAML files get the same from config/yaml-loader.ts.
 */

/** Offsets of the values at `paths` (undefined for a path not in the text); the last duplicate key wins. */
export function locateJsonPaths(text: string, paths: ReadonlyArray<readonly PropertyKey[]>): Array<number | undefined> {
  return new JsonScanner(text, paths).locate()
}

export function locateJsonPath(text: string, path: readonly PropertyKey[]): {line: number; col: number} {
  return lineCol(text, locateJsonPaths(text, [path])[0] ?? 0)
}

export function lineCol(text: string, offset: number): {line: number; col: number} {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return {line, col: offset - lineStart + 1}
}

// JSON.parse on Node 20 often reports no position ("Unexpected token '}', ... is not valid JSON"), and never the
// position of a value. This scanner walks the text only on the error path, to find both.

class JsonSyntaxAt extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message)
  }
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y

class JsonScanner {
  private i = 0
  /** Target path key -> offset of its value. */
  private readonly found = new Map<string, number | undefined>()
  private readonly targetKeys: string[]

  constructor(
    private readonly text: string,
    targets: ReadonlyArray<readonly PropertyKey[]> = [],
  ) {
    this.targetKeys = targets.map(pathKey)
    for (const key of this.targetKeys) this.found.set(key, undefined)
  }

  /**
   * Offsets of the targets' values, in the order given (undefined for a path not in the text). The last occurrence
   * wins, as JSON.parse keeps the last of duplicate keys.
   */
  locate(): Array<number | undefined> {
    try {
      this.document()
    } catch (error) {
      if (!(error instanceof JsonSyntaxAt)) throw error
    }
    return this.targetKeys.map((key) => this.found.get(key))
  }

  document(): void {
    this.value([])
    this.space()
    if (this.i < this.text.length) this.fail('unexpected text after the end of the document')
  }

  private fail(message: string): never {
    throw new JsonSyntaxAt(this.i, message)
  }

  private space(): void {
    while (this.i < this.text.length && ' \t\n\r'.includes(this.text[this.i])) this.i++
  }

  private value(path: PropertyKey[]): void {
    this.space()
    if (this.found.size > 0) {
      const key = pathKey(path)
      if (this.found.has(key)) this.found.set(key, this.i)
    }
    const c = this.text[this.i]
    if (c === '{') return this.object(path)
    if (c === '[') return this.array(path)
    if (c === '"') return void this.string()
    if (c === '-' || (c >= '0' && c <= '9')) return this.number()
    for (const literal of ['true', 'false', 'null']) {
      if (this.text.startsWith(literal, this.i)) {
        this.i += literal.length
        return
      }
    }
    this.fail(c === undefined ? 'unexpected end of the file' : `unexpected ${JSON.stringify(c)} where a value should be`)
  }

  private object(path: PropertyKey[]): void {
    this.i++
    this.space()
    if (this.text[this.i] === '}') {
      this.i++
      return
    }
    for (;;) {
      this.space()
      if (this.text[this.i] !== '"') this.fail('expected a property name in double quotes')
      const key = this.string()
      this.space()
      if (this.text[this.i] !== ':') this.fail("expected ':' after the property name")
      this.i++
      this.value([...path, key])
      this.space()
      const c = this.text[this.i++]
      if (c === '}') return
      if (c !== ',') {
        this.i--
        this.fail("expected ',' or '}' after a property value")
      }
    }
  }

  private array(path: PropertyKey[]): void {
    this.i++
    this.space()
    if (this.text[this.i] === ']') {
      this.i++
      return
    }
    for (let index = 0; ; index++) {
      this.value([...path, index])
      this.space()
      const c = this.text[this.i++]
      if (c === ']') return
      if (c !== ',') {
        this.i--
        this.fail("expected ',' or ']' after an array element")
      }
    }
  }

  private string(): string {
    const start = this.i++
    while (this.i < this.text.length) {
      const c = this.text[this.i]
      if (c === '"') {
        this.i++
        try {
          return JSON.parse(this.text.slice(start, this.i)) as string
        } catch {
          this.i = start
          this.fail('invalid escape sequence in a string')
        }
      }
      if (c === '\\') this.i += 2
      else if (c < ' ') this.fail('control character (e.g. a line break) inside a string')
      else this.i++
    }
    this.i = start
    this.fail('unterminated string')
  }

  private number(): void {
    JSON_NUMBER.lastIndex = this.i
    const m = JSON_NUMBER.exec(this.text)
    if (!m) this.fail('invalid number')
    this.i += m[0].length
  }
}

function pathKey(path: readonly PropertyKey[]): string {
  return path.map(String).join('\u0000')
}

/** Where and why JSON text is malformed (call only when JSON.parse has failed). */
export function locateJsonSyntaxError(text: string): {offset: number; message: string} {
  try {
    new JsonScanner(text).document()
  } catch (error) {
    if (error instanceof JsonSyntaxAt) return {offset: error.offset, message: error.message}
    throw error
  }
  // The scanner accepts what JSON.parse rejected: cannot happen for well-formed input, but never hide the failure.
  return {offset: 0, message: 'the text is not valid JSON'}
}
