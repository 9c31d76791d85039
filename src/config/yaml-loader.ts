import {closeSync, openSync, readFileSync, readSync, statSync} from 'node:fs'
import jsyaml from 'js-yaml'
import {CST, isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, Parser, visit, type Document, type Node, type YAMLError} from 'yaml'
import type {z} from 'zod'
import {ConfigError, MAX_PROBLEMS_SHOWN, type ConfigProblem} from '../errors.js'
import {closestName} from './did-you-mean.js'
import {describeValue, documentedUnionFor, isWrongShape} from './shape-dispatch.js'
import {notTextFault} from './text-file.js'

/**
 * The one YAML loader: parses a config file keeping source positions, interpolates `${env:NAME}` references,
 * validates with a zod schema and reports every problem as `file:line:col: message`.
 */

export interface LoadedConfig<T> {
  value: T
  /**
   * Finds the source position of a path in the document, for errors raised after validation (e.g. cycles): the
   * value's position, or with `{key: true}` the position of the last key itself. A map or list value is found at
   * its key, unless `{value: true}` asks for the value itself (a list where a map goes is wrong where the list is).
   * A key with nothing after it is found at the key.
   */
  locate: (path: readonly PropertyKey[], options?: {key?: boolean; value?: boolean}) => {line: number; col: number} | undefined
  file: string
}

export interface LoadOptions {
  /** Environment for `${env:NAME}` interpolation; defaults to process.env. */
  env?: NodeJS.ProcessEnv
  /** Text to parse instead of reading `file` (file is still used in messages). */
  text?: string
  /**
   * Told of each `${env:NAME}` that is unset (then read as empty) instead of failing: a lint in a CI without the
   * secrets checks everything else. A run leaves it out, and an unset variable is a problem.
   */
  onUnsetEnv?: (problem: ConfigProblem) => void
  /**
   * When the schema refuses the file: more problems from the parts that did pass it (checks across fields that
   * would otherwise wait for the next round), reported in the same pass.
   */
  alsoCheck?: (raw: unknown, locate: LoadedConfig<unknown>['locate']) => ConfigProblem[]
  /**
   * Said with the problems when the schema refuses the file: which checks wait until it passes. zod runs an object's
   * cross-key rules (initial <= max) only once its keys are right, and a loader's own checks run only on what matched:
   * without a word, fixing these reveals more, which reads as a linter that reports in passes.
   */
  laterChecks?: string
  /**
   * Rewrites the document (env already interpolated) before the schema reads it, keeping every path where it was:
   * a scenario puts a stand-in number where a per-device `{params.x}` reference stands, so the schema checks it as
   * the number it will be.
   */
  prepare?: (raw: unknown) => unknown
}

/**
 * Config files larger than this are refused before they are read: the largest real scenarios and pipelines are a
 * few hundred KiB, and a 10 MiB file lints in a few seconds.
 */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024

/**
 * Reads a config or result file as text; a missing or unreadable file, one that is not UTF-8 text, or one larger
 * than MAX_CONFIG_BYTES is a ConfigError of one line naming it (exit 2).
 */
export function readConfigText(file: string, maxBytes = MAX_CONFIG_BYTES): string {
  let bytes: Buffer
  try {
    const size = statSync(file).size
    // Whether it is text is told from its start (one line for a binary file of any size), then its size.
    if (size > 0) notTextAt(file, readStart(file))
    if (size > maxBytes) {
      throw new ConfigError([{file, message: `the file is ${formatMiB(size)}, larger than the ${formatMiB(maxBytes)} a config file may be`}])
    }
    bytes = readFileSync(file)
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const code = (error as NodeJS.ErrnoException).code
    throw new ConfigError([{file, message: code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'a directory, not a file' : `cannot read file (${code ?? String(error)})`}])
  }
  notTextAt(file, bytes)
  return bytes.toString('utf8')
}

const TEXT_PROBE_BYTES = 64 * 1024

function readStart(file: string): Buffer {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(TEXT_PROBE_BYTES)
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0))
  } finally {
    closeSync(fd)
  }
}

/** Throws "not a text file" when `bytes` hold a NUL byte or are not UTF-8 (a sequence cut at the end is allowed). */
function notTextAt(file: string, bytes: Buffer): void {
  const fault = notTextFault(file, bytes, 'a YAML or JSON text file')
  if (fault) throw new ConfigError([fault])
}

function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export function loadYamlConfig<S extends z.ZodType>(file: string, schema: S, options: LoadOptions = {}): LoadedConfig<z.output<S>> {
  const text = options.text ?? readConfigText(file)
  // Two parsers, one reading. `yaml` keeps every node's position, which problems need, but composes ~1 MB/s here
  // (a valid 5 MB scenario took 13 s); js-yaml reads the same YAML 1.2 core schema about ten times faster and keeps
  // no positions. A file js-yaml reads whole (no syntax error, no duplicate key, no anchors) is taken from it, and
  // the positioned document is built only when a problem must be located.
  const fast = fastRead(text)
  let positioned: {doc: Document; lineCounter: LineCounter} | undefined
  const document = () => (positioned ??= positionedDocument(file, text))
  const locate: LoadedConfig<unknown>['locate'] = (path, opts) => {
    const {doc, lineCounter} = document()
    return locatePath(doc, lineCounter, path, opts?.key ? 'key' : opts?.value ? 'value' : 'auto')
  }
  const env = options.env ?? process.env
  const problems: ConfigProblem[] = []
  const value = fast.ok ? fast.value : documentValue(file, document())
  const unset: ConfigProblem[] = []
  const raw = interpolateEnv(value, env, [], options.onUnsetEnv ? unset : problems, file, locate)
  for (const p of unset) options.onUnsetEnv?.(p)
  if (raw === null || raw === undefined) throw new ConfigError([{file, line: 1, col: 1, message: 'the file is empty'}])
  if (problems.length > 0) throw new ConfigError(problems)

  const input = options.prepare ? options.prepare(raw) : raw
  const parsed = schema.safeParse(input)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueToProblems(issue, file, locate, raw, schema))
    if (options.alsoCheck) problems.push(...options.alsoCheck(input, locate))
    throw new ConfigError(sortProblems(problems), options.laterChecks ? [`fix these first: ${options.laterChecks} run on the parts that match the schema, and may then find more`] : [])
  }
  return {value: parsed.data, locate, file}
}

/** How many alias expansions a document may make (yaml's maxAliasCount): a "billion laughs" makes billions. */
const MAX_ALIAS_COUNT = 1000

/** The document as plain data; aliases that would expand past MAX_ALIAS_COUNT are a problem at the alias. */
function documentValue(file: string, {doc, lineCounter}: {doc: Document; lineCounter: LineCounter}): unknown {
  try {
    return doc.toJS({maxAliasCount: MAX_ALIAS_COUNT})
  } catch (error) {
    if (!(error instanceof ReferenceError) || !/alias count/i.test(error.message)) throw error
    // yaml does not say which alias; the first one whose anchor holds aliases itself is where the copies multiply.
    let first: Node | undefined
    let nested: Node | undefined
    visit(doc, {
      Alias(_, alias) {
        first ??= alias
        const target = alias.resolve(doc)
        let inner = false
        if (target && isNode(target)) {
          visit(target, {
            Alias() {
              inner = true
              return visit.BREAK
            },
          })
        }
        if (inner) {
          nested = alias
          return visit.BREAK
        }
        return undefined
      },
    })
    const at = nested ?? first
    const pos = at?.range ? lineCounter.linePos(at.range[0]) : {line: 1, col: 1}
    throw new ConfigError([{file, line: pos.line, col: pos.col, message: `too many aliases (expanding the aliases of this file would make more than ${MAX_ALIAS_COUNT.toLocaleString('en-US')} copies, as a "billion laughs" does); write the repeated values out or nest fewer aliases`}])
  }
}

/** Anchors and aliases (`&a`, `*a`) go to `yaml`, which bounds how far aliases expand; js-yaml does not. */
const ANCHOR_OR_ALIAS = /[&*][A-Za-z0-9_-]/

function fastRead(text: string): {ok: true; value: unknown} | {ok: false} {
  if (ANCHOR_OR_ALIAS.test(text)) return {ok: false}
  try {
    return {ok: true, value: jsyaml.load(text, {schema: jsyaml.CORE_SCHEMA})}
  } catch {
    // A syntax error, a duplicate key, several documents: `yaml` says where.
    return {ok: false}
  }
}

/** The document with positions; its syntax errors and duplicate keys are thrown as problems at file:line:col. */
function positionedDocument(file: string, text: string): {doc: Document; lineCounter: LineCounter} {
  const lineCounter = new LineCounter()
  // yaml's own uniqueKeys check compares every key with every other one of its map (quadratic: a 300 KB map took
  // 14 s); duplicateKeys() does it with a set.
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: false, strict: true})
  const errors = withOpeningQuotes(text, doc.errors)
  const syntax: ConfigProblem[] = errors.slice(0, MAX_PROBLEMS_SHOWN).map((e) => {
    const pos = lineCounter.linePos(e.offset)
    return {file, line: pos.line, col: pos.col, message: `YAML syntax error: ${clip(e.message)}`}
  })
  if (syntax.length > 0) throw new ConfigError(syntax, [], errors.length - syntax.length)
  const duplicates = duplicateKeys(doc, lineCounter, file)
  if (duplicates.length > 0) throw new ConfigError(duplicates)
  return {doc, lineCounter}
}

/**
 * `yaml` reports a quote that is never closed where the text ends ("Missing closing \"quote" at the last line),
 * often far below the slip. The quoted scalar that runs into that place is found in the parser's tokens, and the
 * error is said where its quote opens; what else was reported at the same place (an unclosed [ or { around the
 * string) follows from it and is left out.
 */
function withOpeningQuotes(text: string, errors: readonly YAMLError[]): Array<{offset: number; message: string}> {
  const relocated = new Set<number>()
  const out = errors.map((e) => {
    const message = firstLine(e.message)
    const quote = e.code === 'MISSING_CHAR' ? /^Missing closing (["'])quote/.exec(message)?.[1] : undefined
    const opening = quote === undefined ? undefined : openingQuoteBefore(text, e.pos[0], quote)
    if (opening === undefined) return {offset: e.pos[0], message}
    relocated.add(e.pos[0])
    return {offset: opening, message: `this ${quote} quote is never closed: the string it opens runs to the end of the file (close it with ${quote} where it should end)`, quote: true}
  })
  return out.filter((e, k) => 'quote' in e || !relocated.has(errors[k].pos[0])).map(({offset, message}) => ({offset, message}))
}

/** Offset of the opening quote of the innermost quoted scalar that reaches `end`, if one does. */
function openingQuoteBefore(text: string, end: number, quote: string): number | undefined {
  const type = quote === '"' ? 'double-quoted-scalar' : 'single-quoted-scalar'
  let found: number | undefined
  const consider = (token: CST.Token | null | undefined) => {
    if (token?.type === type && token.offset < end && token.offset + token.source.length >= end && (found === undefined || token.offset > found)) found = token.offset
  }
  for (const token of new Parser().parse(text)) {
    if (token.type !== 'document') continue
    consider(token.value)
    CST.visit(token, (item) => {
      consider(item.key)
      consider(item.value)
    })
  }
  return found
}

/** A syntax error quotes the token it met: keep a line of it, not a megabyte. */
function clip(message: string, max = 160): string {
  return message.length <= max ? message : `${message.slice(0, max - 1)}…`
}

/** Keys that appear twice in one map, each at its second occurrence, in one pass over the document. */
function duplicateKeys(doc: Document, lc: LineCounter, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>()
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue
        const name = String(pair.key.value)
        if (!seen.has(name)) {
          seen.add(name)
          continue
        }
        const pos = lc.linePos(pair.key.range?.[0] ?? 0)
        problems.push({file, line: pos.line, col: pos.col, message: `YAML syntax error: map keys must be unique; "${clip(name, 60)}" is a key of this map already`})
      }
    },
  })
  return problems
}

function firstLine(s: string): string {
  return s.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
}

function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: ConfigProblem[],
  file: string,
  locate: LoadedConfig<unknown>['locate'],
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${env:')) return value
    return value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name]
      if (v !== undefined && v !== '') return v
      if (fallback !== undefined) return fallback
      problems.push({file, ...locate(path), path: formatPath(path), message: `environment variable ${name} is not set (referenced as \${env:${name}})`})
      return ''
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, [...path, i], problems, file, locate))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, [...path, k], problems, file, locate)
    return out
  }
  return value
}

function issueToProblems(issue: z.core.$ZodIssue, file: string, locate: LoadedConfig<unknown>['locate'], raw: unknown, schema?: z.ZodType): ConfigProblem[] {
  const path = issue.path as PropertyKey[]
  const discriminator = discriminatorProblem(issue, raw) ?? unknownOptionProblem(issue, raw)
  if (discriminator) {
    const at = discriminator.missing ? locate(path.slice(0, -1)) : locate(path)
    return [{file, ...(at ?? {line: 1, col: 1}), path: formatPath(path), message: `${formatPath(path.slice(0, -1)) || '(root)'}: ${discriminator.message}`}]
  }
  if (issue.code === 'unrecognized_keys') {
    const known = schema ? knownKeysAt(schema, path, raw) : undefined
    return issue.keys.map((key) => {
      const hint = known ? closestName(key, known) : undefined
      return {
        file,
        ...(locate([...path, key], {key: true}) ?? locate(path)),
        path: formatPath([...path, key]),
        message: `unknown key "${key}"${path.length ? ` in ${formatPath(path)}` : ''}${hint ? `; did you mean "${hint}"?` : ''}`,
      }
    })
  }
  const where = formatPath(path)
  if (isMissingKey(issue, raw)) {
    // A misspelt key (sigmaa for sigma) is one mistake: reported as the unknown key with its did-you-mean, not also here.
    if (schema && misspeltAs(schema, path.slice(0, -1), raw, String(path.at(-1)))) return []
    const message = `missing required key "${String(path.at(-1))}"`
    return [{file, ...(locate(path.slice(0, -1)) ?? {line: 1, col: 1}), path: where, message: path.length > 1 ? `${message} in ${formatPath(path.slice(0, -1))}` : message}]
  }
  const message = issueMessage(issue, raw, schema)
  return [{file, ...(locate(path, {value: isWrongShape(issue)}) ?? {line: 1, col: 1}), path: where, message: where ? `${where}: ${message}` : message}]
}

/** zod's own wording of a value of the wrong type; a schema's own message for it does not look like this. */
const ZOD_WRONG_TYPE = /^Invalid input: expected \w+, received \w+$/

/**
 * An issue's message in the words of the file: zod's "Invalid input: expected boolean, received string" becomes
 * 'expected true or false, got "yes"', with what to write where the slip is a common one. A schema's own message is
 * kept. `input` is the document the issue's path walks.
 */
export function issueMessage(issue: z.core.$ZodIssue, input: unknown, schema?: z.ZodType): string {
  // Also for checks that run zod themselves (a pipeline's source and sink options): a value outside a fixed list.
  const option = unknownOptionProblem(issue, input)
  if (option) return option.message
  if (issue.code === 'invalid_value') return withClosestOption(issue, input)
  if (issue.code !== 'invalid_type' || !ZOD_WRONG_TYPE.test(issue.message)) return issue.message
  const path = issue.path as PropertyKey[]
  const value = valueAt(input, path)
  const keys = issue.expected === 'object' && schema ? knownKeysAt(schema, path, input) : undefined
  return `expected ${expectedWords(issue.expected, keys)}, got ${describeValue(value)}${slipHint(issue.expected, value)}`
}

const EXPECTED_WORDS: Record<string, string> = {string: 'text', number: 'a number', int: 'a whole number', boolean: 'true or false', array: 'a list', record: 'a map', map: 'a map'}

function expectedWords(expected: string, keys: string[] | undefined): string {
  if (expected === 'object') return keys && keys.length > 0 && keys.length <= 6 ? `a map with keys ${keys.join(', ')}` : 'a map'
  return EXPECTED_WORDS[expected] ?? expected
}

/**
 * What to write for the slips YAML invites: a bare 5 or true is read as a number or a boolean where text was meant,
 * yes/no/on/off are text in YAML 1.2 (not booleans as in 1.1), and a quoted number is text.
 */
function slipHint(expected: string, value: unknown): string {
  if (expected === 'string' && (typeof value === 'number' || typeof value === 'boolean')) return ` (write "${String(value)}" for the text)`
  if (expected === 'boolean' && typeof value === 'string' && /^(yes|no|on|off|y|n)$/i.test(value)) return ` (YAML 1.2 reads ${value} as text)`
  if ((expected === 'number' || expected === 'int') && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return ` (write ${value.trim()} without quotes for the number)`
  return ''
}

/**
 * Whether a zod issue is about a key the map does not have. zod words it by the key's schema: "expected string,
 * received undefined" for a plain one, but only "Invalid input" for a union (topic: a filter or a list of them) or
 * a value of several shapes (reboot: 5s or {after: 5s}). So the input is asked instead. A custom issue keeps its
 * own words (it may say why the key is needed), unless it only says the value has no shape byShape takes.
 */
export function isMissingKey(issue: z.core.$ZodIssue, input: unknown): boolean {
  if (issue.code === 'custom' && !isWrongShape(issue)) return false
  const path = issue.path as PropertyKey[]
  const key = path.at(-1)
  if (typeof key !== 'string') return false
  const parent = valueAt(input, path.slice(0, -1))
  return parent !== null && typeof parent === 'object' && !Array.isArray(parent) && !Object.hasOwn(parent, key)
}

/**
 * zod words a discriminated union that matched no option as "Invalid discriminator value. Expected 'a' | 'b' …",
 * for a misspelt value and a missing key alike. Say which, and offer the closest option.
 */
function discriminatorProblem(issue: z.core.$ZodIssue, raw: unknown): {message: string; missing: boolean} | undefined {
  if (issue.code !== 'invalid_union' || !('discriminator' in issue) || !('options' in issue)) return undefined
  const key = String(issue.discriminator)
  const options = (issue.options as unknown[]).map(String)
  const value = valueAt(raw, issue.path as PropertyKey[])
  if (value === undefined) return {missing: true, message: `add \`${key}:\` (one of ${options.join(', ')})`}
  return {missing: false, message: unknownOption(key, value, options)}
}

/**
 * A value outside a fixed list of names (z.enum: an anomaly's kind, a payload format), which zod words as
 * 'Invalid option: expected one of "spike"|"stuck"|...': said as a misspelt generator kind is. A key that is not
 * there is left to "missing required key"; a schema's own message is kept.
 */
function unknownOptionProblem(issue: z.core.$ZodIssue, raw: unknown): {message: string; missing: boolean} | undefined {
  if (issue.code !== 'invalid_value' || !/^Invalid option: /.test(issue.message) || !issue.values.every((v) => typeof v === 'string')) return undefined
  const path = issue.path as PropertyKey[]
  const key = path.at(-1)
  const value = valueAt(raw, path)
  if (typeof key !== 'string' || value === undefined) return undefined
  return {missing: false, message: unknownOption(key, value, issue.values as string[])}
}

/** A schema's own words for a value outside its list (payload: jsn), with the close option when there is one. */
function withClosestOption(issue: z.core.$ZodIssue & {code: 'invalid_value'}, input: unknown): string {
  const value = valueAt(input, issue.path as PropertyKey[])
  const options = issue.values.filter((v): v is string => typeof v === 'string')
  const hint = typeof value === 'string' && options.length === issue.values.length ? closestName(value, options) : undefined
  return hint ? `${issue.message}; did you mean ${hint}?` : issue.message
}

/** 'unknown kind "walkk"; did you mean walk? (one of ...)', or without a close name 'expected one of ...'. */
function unknownOption(key: string, value: unknown, options: readonly string[]): string {
  const list = options.join(', ')
  const hint = typeof value === 'string' ? closestName(value, options) : undefined
  return `unknown ${key} ${JSON.stringify(value)}; ${hint ? `did you mean ${hint}? (one of ${list})` : `expected one of ${list}`}`
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw
  for (const seg of path) node = node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[seg] : undefined
  return node
}

/** The zod internals knownKeysAt reads: a schema's definition and, per kind, where the inner schema sits. */
interface SchemaDef {
  type: string
  shape?: Record<string, unknown>
  innerType?: unknown
  in?: unknown
  element?: unknown
  valueType?: unknown
  options?: unknown[]
  /** A discriminated union's key (generator `kind`). */
  discriminator?: string
  /** A literal's values (the discriminator's value in each option). */
  values?: unknown[]
}

function defOf(s: unknown): SchemaDef | undefined {
  return (s as {_zod?: {def?: SchemaDef}} | undefined)?._zod?.def
}

/** Optional, default, nullable and pipe wrappers removed; a value of several shapes (byShape) read as the union it stands for. */
function unwrapSchema(s: unknown): unknown {
  for (;;) {
    const union = documentedUnionFor(s)
    const d = defOf(s)
    if (union) s = union
    else if (d && ['optional', 'default', 'prefault', 'nullable', 'pipe', 'readonly', 'catch'].includes(d.type)) s = d.type === 'pipe' ? d.in : d.innerType
    else return s
  }
}

/**
 * The keys an object schema allows at `path` (for "did you mean" on an unknown key); undefined when not an object.
 * Through a union when one of its options is an object there (reboot: 5s or {after, will}), or, for a discriminated
 * union, when `input` (the document the path walks) names the option (a generator's `kind: walk`).
 */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[], input?: unknown): string[] | undefined {
  return keysAt(schema, path, input)
}

function keysAt(schema: unknown, path: readonly PropertyKey[], input: unknown): string[] | undefined {
  const d = defOf(unwrapSchema(schema))
  if (!d) return undefined
  if (d.type === 'union') {
    const named = d.discriminator === undefined ? undefined : optionNamed(d.options ?? [], d.discriminator, input)
    if (named) return keysAt(named, path, input)
    const found = (d.options ?? []).map((option) => keysAt(option, path, input)).filter((keys) => keys !== undefined)
    return found.length === 1 ? found[0] : undefined
  }
  if (path.length === 0) return d.type === 'object' && d.shape ? Object.keys(d.shape) : undefined
  const [seg, ...rest] = path
  const inner = d.type === 'object' ? d.shape?.[String(seg)] : d.type === 'array' ? d.element : d.type === 'record' ? d.valueType : undefined
  const innerInput = input !== null && typeof input === 'object' ? (input as Record<PropertyKey, unknown>)[seg] : undefined
  return inner === undefined ? undefined : keysAt(inner, rest, innerInput)
}

/** Whether the object at `objectPath` holds an unknown key whose did-you-mean is `missing`. */
function misspeltAs(schema: z.ZodType, objectPath: readonly PropertyKey[], input: unknown, missing: string): boolean {
  const known = knownKeysAt(schema, objectPath, input)
  const object = valueAt(input, objectPath)
  if (!known || object === null || typeof object !== 'object') return false
  return Object.keys(object).some((key) => !known.includes(key) && closestName(key, known) === missing)
}

/** The option of a discriminated union whose discriminator literal is the value `input` gives it. */
function optionNamed(options: readonly unknown[], discriminator: string, input: unknown): unknown {
  if (input === null || typeof input !== 'object') return undefined
  const value = (input as Record<string, unknown>)[discriminator]
  if (value === undefined) return undefined
  return options.find((option) => defOf(unwrapSchema(defOf(unwrapSchema(option))?.shape?.[discriminator]))?.values?.includes(value))
}

function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else out += out ? `.${String(p)}` : String(p)
  }
  return out
}

/**
 * Walks the YAML AST along `path`. `key`: the last key's position; `auto`: a scalar value's position, or the key
 * of a map or list value; `value`: the value's own position whatever it is. A key with nothing after it (`key:`)
 * is found at the key in each: the empty value has no place of its own on the line.
 */
function locatePath(doc: Document, lc: LineCounter, path: readonly PropertyKey[], mode: 'key' | 'auto' | 'value'): {line: number; col: number} | undefined {
  let node: unknown = doc.contents
  let best: Node | undefined = isNode(node) ? node : undefined
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg))
      if (!pair) break
      const keyNode = pair.key as Node
      best = keyNode
      node = pair.value
      const last = i === path.length - 1
      if (mode === 'key' && last) break
      if (!isNode(node) || isEmptyScalar(node)) continue
      if (!(isMap(node) || isSeq(node)) || (mode === 'value' && last)) best = node
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg]
      if (!isNode(item)) break
      best = item
      node = item
    } else {
      break
    }
  }
  const offset = best?.range?.[0]
  if (offset === undefined) return undefined
  const pos = lc.linePos(offset)
  return {line: pos.line, col: pos.col}
}

function isEmptyScalar(node: Node): boolean {
  return isScalar(node) && node.value === null && node.range !== undefined && node.range !== null && node.range[0] === node.range[1]
}
