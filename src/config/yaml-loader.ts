import {readFileSync} from 'node:fs'
import {isMap, isNode, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node} from 'yaml'
import type {z} from 'zod'
import {ConfigError, type ConfigProblem} from '../errors.js'
import {closestName} from './did-you-mean.js'

/**
 * The one YAML loader: parses a config file keeping source positions, interpolates `${env:NAME}` references,
 * validates with a zod schema and reports every problem as `file:line:col: message`.
 */

export interface LoadedConfig<T> {
  value: T
  /**
   * Finds the source position of a path in the document, for errors raised after validation (e.g. cycles): the
   * value's position, or with `{key: true}` the position of the last key itself.
   */
  locate: (path: readonly PropertyKey[], options?: {key?: boolean}) => {line: number; col: number} | undefined
  file: string
}

export interface LoadOptions {
  /** Environment for `${env:NAME}` interpolation; defaults to process.env. */
  env?: NodeJS.ProcessEnv
  /** Text to parse instead of reading `file` (file is still used in messages). */
  text?: string
}

/** Reads a config or result file as text; a missing or unreadable file is a ConfigError naming it (exit 2). */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ConfigError([{file, message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`}])
  }
}

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g

export function loadYamlConfig<S extends z.ZodType>(file: string, schema: S, options: LoadOptions = {}): LoadedConfig<z.output<S>> {
  const text = options.text ?? readConfigText(file)
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true, strict: true})
  const syntax: ConfigProblem[] = doc.errors.map((e) => {
    const pos = lineCounter.linePos(e.pos[0])
    return {file, line: pos.line, col: pos.col, message: `YAML syntax error: ${firstLine(e.message)}`}
  })
  if (syntax.length > 0) throw new ConfigError(syntax)

  const locate: LoadedConfig<unknown>['locate'] = (path, opts) => locatePath(doc, lineCounter, path, opts?.key ?? false)
  const env = options.env ?? process.env
  const problems: ConfigProblem[] = []
  const raw = interpolateEnv(doc.toJS({maxAliasCount: 1000}), env, [], problems, file, locate)
  if (raw === null || raw === undefined) throw new ConfigError([{file, line: 1, col: 1, message: 'the file is empty'}])
  if (problems.length > 0) throw new ConfigError(problems)

  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...issueToProblems(issue, file, locate, schema))
    throw new ConfigError(sortProblems(problems))
  }
  return {value: parsed.data, locate, file}
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

function issueToProblems(issue: z.core.$ZodIssue, file: string, locate: LoadedConfig<unknown>['locate'], schema?: z.ZodType): ConfigProblem[] {
  const path = issue.path as PropertyKey[]
  if (issue.code === 'unrecognized_keys') {
    const known = schema ? knownKeysAt(schema, path) : undefined
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
  let message = issue.message
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) {
    message = `missing required key "${String(path.at(-1))}"`
    return [{file, ...(locate(path.slice(0, -1)) ?? {line: 1, col: 1}), path: where, message: path.length > 1 ? `${message} in ${formatPath(path.slice(0, -1))}` : message}]
  }
  return [{file, ...(locate(path) ?? {line: 1, col: 1}), path: where, message: where ? `${where}: ${message}` : message}]
}

/** The zod internals knownKeysAt reads: a schema's definition and, per kind, where the inner schema sits. */
interface SchemaDef {
  type: string
  shape?: Record<string, unknown>
  innerType?: unknown
  in?: unknown
  element?: unknown
  valueType?: unknown
}

function defOf(s: unknown): SchemaDef | undefined {
  return (s as {_zod?: {def?: SchemaDef}} | undefined)?._zod?.def
}

/** Optional, default, nullable and pipe wrappers removed. */
function unwrapSchema(s: unknown): unknown {
  for (let d = defOf(s); d && ['optional', 'default', 'prefault', 'nullable', 'pipe', 'readonly', 'catch'].includes(d.type); d = defOf(s)) {
    s = d.type === 'pipe' ? d.in : d.innerType
  }
  return s
}

/** The keys an object schema allows at `path` (for "did you mean" on an unknown key); undefined when not an object. */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: unknown = schema
  for (const seg of path) {
    const d = defOf(unwrapSchema(s))
    if (!d) return undefined
    if (d.type === 'object') s = d.shape?.[String(seg)]
    else if (d.type === 'array') s = d.element
    else if (d.type === 'record') s = d.valueType
    else return undefined
  }
  const d = defOf(unwrapSchema(s))
  return d?.type === 'object' && d.shape ? Object.keys(d.shape) : undefined
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

/** Walks the YAML AST along `path`; for a map key returns the key's position, otherwise the value's. */
function locatePath(doc: Document, lc: LineCounter, path: readonly PropertyKey[], keyOnly: boolean): {line: number; col: number} | undefined {
  let node: unknown = doc.contents
  let best: Node | undefined = isNode(node) ? node : undefined
  for (const [i, seg] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(seg))
      if (!pair) break
      const keyNode = pair.key as Node
      best = keyNode
      node = pair.value
      if (keyOnly && i === path.length - 1) break
      if (isNode(node) && !(isMap(node) || isSeq(node))) best = node
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
