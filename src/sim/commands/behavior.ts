import {spawnSync} from 'node:child_process'
import {createRequire} from 'node:module'
import {existsSync, readFileSync} from 'node:fs'
import {basename, dirname, join, relative} from 'node:path'
import {pathToFileURL} from 'node:url'
import {closestName} from '../../config/did-you-mean.js'
import {ConfigError, formatProblem, type ConfigProblem} from '../../errors.js'
import {parseTemplate, renderTemplate} from '../../config/template.js'
import {topicMatches} from '../../net/topic-filter.js'
import type {FieldValue} from '../generators/index.js'
import type {PublishProperties} from '../types.js'
import {coerce, type CommandCounters, type DeviceHost} from './device-commands.js'
import {findTopicFault} from '../../net/topic-rules.js'

/**
 * Behaviour modules (`behavior: ./pump.js` on a fleet): the user's own JavaScript, loaded in every fleet worker, for
 * what the YAML cannot say. It sees a small device API (read and hold fields, switch mode, publish, its own state)
 * and is called before each message (onTick) and for each message on its subscriptions (onMessage). It runs with
 * the full rights of the iotd process, as any code the user runs does; docs/scenario-reference.md says so.
 */

/** What a behaviour module exports (as its default export or as the module itself). */
export interface BehaviorModule {
  /** Topic filter templates each device subscribes to, e.g. ["{deviceId}/cmd/#"]. */
  subscribe?: string[]
  /** Once per device, before its first message. */
  onStart?(device: BehaviorDevice): void
  /** Before each telemetry message is generated: values read are the previous message's; values set show in this one. */
  onTick?(device: BehaviorDevice): void
  /** A message on one of the subscriptions. */
  onMessage?(device: BehaviorDevice, message: BehaviorMessage): void
}

export interface BehaviorDevice {
  readonly id: string
  readonly vars: Readonly<Record<string, string>>
  /** Messages generated so far. */
  readonly n: number
  /** The module's own memory for this device (starts empty). */
  readonly state: Record<string, unknown>
  get(field: string): FieldValue | undefined
  /**
   * Holds a field at a value until release (its generator keeps stepping underneath). The value is made to fit the
   * field as a command's `set` makes it ("21.5" into a number field is 21.5); what a command would fail on throws: no
   * such field, text that is no number into a number field, a value that is no number, text or true/false.
   */
  set(field: string, value: FieldValue): void
  release(field: string): void
  setMode(mode: string): void
  /** Starts one of the fleet's declared anomalies by name (labelled as started by the command "behavior"). */
  startAnomaly(name: string): void
  /** Ends the command-started occurrence of a declared anomaly now. */
  stopAnomaly(name: string): void
  /**
   * Publishes (objects are sent as JSON); false when the device is not connected. Throws, sending nothing, on a topic
   * MQTT forbids a device to publish to (a wildcard + or #, empty, a NUL, past 65535 bytes), which the broker would
   * answer by closing the connection, and on a qos that is none of 0, 1, 2.
   */
  publish(topic: string, payload: string | object, options?: {qos?: 0 | 1 | 2; retain?: boolean; properties?: PublishProperties}): boolean
}

export interface BehaviorMessage {
  topic: string
  payload: Buffer
  text: string
  /** The payload parsed as JSON, or undefined. */
  json: unknown
  responseTopic?: string
  correlationData?: Buffer
}

const HOOKS = ['onStart', 'onTick', 'onMessage'] as const

/** Most seconds a module's loading may take in a child process (lint's probe, locating a throw): a loop is cut there. */
const CHILD_TIMEOUT_MS = 10_000

/**
 * Loads a module synchronously (CommonJS, or ESM without top-level await through Node's require of ES modules), so
 * a worker has it before its first device connects. A module that cannot be loaded (a syntax error, or its top level
 * throws) or exports no hook is bad input, as a scenario error is (ConfigError, exit code 2): the error names the
 * module at file:line:col of the failure, which Node's own message does not.
 */
export function loadBehaviorModule(path: string): BehaviorModule {
  let loaded: unknown
  try {
    loaded = createRequire(import.meta.url)(path)
  } catch (error) {
    throw new ConfigError([loadFailure(describeThrown(error), path)])
  }
  const problem = exportsProblem(describeExports(loaded), path)
  if (problem) throw new ConfigError([problem])
  return (loaded !== null && typeof loaded === 'object' && 'default' in loaded ? loaded.default : loaded) as BehaviorModule
}

/**
 * What `iotd sim lint` says of a module: its syntax error (by `node --check`, which runs nothing), and with `load`,
 * whatever loading it as the run does would refuse. The module is loaded in a child process, so a top level that
 * loops or waits forever is cut after 10 s and the module's side effects stay out of iotd. Undefined when the run
 * would take it. The text is the run's (file:line:col: ...), so lint and run say the same.
 */
export function behaviorModuleProblem(path: string, options: {load: boolean; timeoutMs?: number}): string | undefined {
  return inspectBehaviorModule(path, options).problem
}

/**
 * behaviorModuleProblem, and with `load` (when the module loads) its `subscribe:` filter templates as it exports
 * them: they are only known once it has run, so checks that need them (a twin on the same topic) are made here.
 */
export function inspectBehaviorModule(path: string, options: {load: boolean; timeoutMs?: number}): {problem?: string; subscribe?: string[]} {
  const syntax = syntaxProblemByCheck(path)
  if (syntax) return {problem: formatProblem(syntax)}
  if (!options.load) return {}
  const probed = probeBehaviorModule(path, options.timeoutMs ?? CHILD_TIMEOUT_MS)
  return 'problem' in probed ? {problem: formatProblem(probed.problem)} : {subscribe: probed.subscribe}
}

const PROBE_MARK = '\u0000iotd-probe:'

/** Loads the module in a child process as loadBehaviorModule does: what the run would refuse, or its subscriptions. */
function probeBehaviorModule(path: string, timeoutMs: number): {problem: ConfigProblem} | {subscribe: string[]} {
  // The child reports with the same two functions the run uses, by their source; it exits at once, so a timer or a
  // server the module's top level starts does not keep it alive.
  const script = [
    describeThrown.toString(),
    describeExports.toString(),
    `let out`,
    `try { out = {exports: describeExports(require(process.argv[1]))} } catch (error) { out = {thrown: describeThrown(error)} }`,
    `process.stdout.write(${JSON.stringify(PROBE_MARK)} + JSON.stringify(out) + '\\n', () => process.exit(0))`,
  ].join('\n')
  const child = spawnSync(process.execPath, ['-e', script, path], {encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024})
  if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    return {problem: {file: path, message: `behavior module cannot be loaded: its top level did not finish in ${timeoutMs / 1000} s (a loop, or something it waits for?)`}}
  }
  const report = child.stdout?.split(PROBE_MARK).at(-1)
  if (child.stdout === null || !child.stdout.includes(PROBE_MARK) || report === undefined) {
    return {problem: {file: path, message: `behavior module cannot be loaded: its top level ended the process (${child.signal ? `signal ${child.signal}` : `exit code ${child.status}`})`}}
  }
  const out = JSON.parse(report) as {exports: ExportsShape} | {thrown: Thrown}
  if ('thrown' in out) return {problem: loadFailure(out.thrown, path)}
  const problem = exportsProblem(out.exports, path)
  return problem ? {problem} : {subscribe: out.exports.subscribe ?? []}
}

/** What a module's top level threw, in a form that crosses a process boundary. */
interface Thrown {
  /** True for an Error (then name, stack and code are its own); else message is the value as text. */
  isError: boolean
  name: string
  message: string
  stack: string
  code?: string
  requireStack?: string[]
}

// Runs in lint's child process too, from its source text: it uses nothing outside itself.
function describeThrown(error: unknown): Thrown {
  if (error instanceof Error) {
    const e = error as Error & {code?: unknown; requireStack?: unknown}
    return {
      isError: true,
      name: e.name,
      message: e.message,
      stack: String(e.stack ?? ''),
      code: typeof e.code === 'string' ? e.code : undefined,
      requireStack: Array.isArray(e.requireStack) ? e.requireStack.map(String) : undefined,
    }
  }
  return {isError: false, name: '', message: typeof error === 'string' ? JSON.stringify(error) : String(error), stack: ''}
}

/** What a module exports, in a form that crosses a process boundary. */
interface ExportsShape {
  /** What the export is when it is no object: "the number 5", "null". */
  notObject?: string
  /** Whether it is the module's default export (export default null) or the module itself (module.exports = 5). */
  isDefault: boolean
  /** Its members and their types (typeof), hooks looked up through the prototype too. */
  members: Record<string, string>
  /** subscribe is a list of texts. */
  subscribeOk: boolean
  /** The subscribe list, when it is one. */
  subscribe?: string[]
}

// Runs in lint's child process too, from its source text: it uses nothing outside itself.
function describeExports(loaded: unknown): ExportsShape {
  const isDefault = loaded !== null && typeof loaded === 'object' && 'default' in loaded
  const mod = isDefault ? (loaded as {default: unknown}).default : loaded
  if (mod === null || (typeof mod !== 'object' && typeof mod !== 'function')) {
    const notObject = mod === null || mod === undefined ? String(mod) : typeof mod === 'string' ? `the text ${JSON.stringify(mod)}` : `the ${typeof mod} ${String(mod)}`
    return {notObject, isDefault, members: {}, subscribeOk: true}
  }
  const o = mod as Record<string, unknown>
  const members: Record<string, string> = {}
  for (const name of [...Object.keys(o), 'onStart', 'onTick', 'onMessage', 'subscribe']) if (o[name] !== undefined) members[name] = typeof o[name]
  const sub = o.subscribe
  const subscribeOk = sub === undefined || (Array.isArray(sub) && sub.every((t) => typeof t === 'string'))
  return {isDefault, members, subscribeOk, subscribe: subscribeOk && Array.isArray(sub) ? sub.map(String) : undefined}
}

/** Why the run would refuse what a module exports, or undefined: it needs a hook, hooks are functions. */
function exportsProblem(shape: ExportsShape, path: string): ConfigProblem | undefined {
  const refuse = (message: string) => ({file: path, message: `behavior module ${message}`})
  const example = 'module.exports = {onTick(device) {...}} or export default {onTick(device) {...}}'
  if (shape.notObject !== undefined) {
    return refuse(`${shape.isDefault ? 'has the default export' : 'exports'} ${shape.notObject}, not an object with onStart, onTick or onMessage (${example})`)
  }
  for (const hook of HOOKS) {
    const type = shape.members[hook]
    if (type !== undefined && type !== 'function') return {file: path, message: `behavior module's ${hook} is ${type === 'object' ? 'an object' : `a ${type}`}, not a function`}
  }
  if (!HOOKS.some((hook) => shape.members[hook] !== undefined)) {
    const names = Object.keys(shape.members)
    const typo = names.map((name) => ({name, hook: closestName(name, HOOKS)})).find((t) => t.hook !== undefined)
    if (typo) return refuse(`exports none of onStart, onTick, onMessage: it exports ${typo.name}; did you mean ${typo.hook}?`)
    return refuse(`exports none of onStart, onTick, onMessage (${names.length > 0 ? `it exports ${names.join(', ')}` : 'it exports nothing'}): ${example}`)
  }
  if (!shape.subscribeOk) return refuse('exports subscribe, which must be a list of topic filter templates, such as ["{deviceId}/cmd/#"]')
  return undefined
}

/**
 * What went wrong loading a module, and where: a syntax error at its line and column (from Node's caret); an error
 * its top level threw at the first frame of the module's own code; a module it requires that does not exist, and
 * where it is required; top-level await in an ES module, at the await.
 */
function loadFailure(thrown: Thrown, path: string): ConfigProblem {
  const what = (ran: boolean, text: string) => ({file: path, message: `behavior module cannot be loaded: ${ran ? 'its top level threw ' : ''}${text}`})
  // A thrown value that is no Error has no stack: Node says where it was thrown when it is not caught.
  if (!thrown.isError) return {...what(true, thrown.message), ...uncaughtAt(path)}
  if (thrown.code === 'ERR_REQUIRE_ASYNC_MODULE') {
    return {
      ...what(false, 'an ES module with top-level await cannot be loaded (iotd loads behaviour modules synchronously): remove the await at top level'),
      ...topLevelAwaitAt(path),
    }
  }
  const text = `${thrown.name}: ${thrown.message}`
  if (thrown.name === 'SyntaxError') {
    // A CommonJS syntax error's stack starts "file:line" and the caret; an ES module's names no line: ask node --check.
    const syntax = syntaxProblem(thrown.stack, path) ?? syntaxProblemByCheck(path)
    if (syntax) return syntax
  }
  const frames = stackFrames(thrown.stack)
  const at = frames.find((f) => sameFile(f.file, path))
  const where = at ? {line: at.line, col: at.col} : {}
  if (thrown.code === 'MODULE_NOT_FOUND') {
    const name = /^Cannot find module '(.*)'/.exec(thrown.message)?.[1]
    const from = thrown.requireStack?.[0]
    const site = from === undefined ? undefined : frames.find((f) => sameFile(f.file, from))
    const required = from === undefined ? '' : ` (required at ${relative(dirname(path), from)}${site ? `:${site.line}:${site.col}` : ''})`
    if (name !== undefined) return {...what(false, `cannot find module '${name}'${required}`), ...where}
  }
  if (thrown.code === 'ERR_MODULE_NOT_FOUND') {
    const m = /^Cannot find (?:module|package) '(.*)' imported from (.*)$/.exec(thrown.message)
    if (m) return {...what(false, `cannot find module '${m[1]}' (imported by ${relative(dirname(path), m[2])})`), ...where}
  }
  return at ? {...what(true, text), ...where} : what(false, text)
}

function sameFile(file: string, path: string): boolean {
  return file === path || file === pathToFileURL(path).href
}

function stackFrames(stack: string): Array<{file: string; line: number; col: number}> {
  const frames: Array<{file: string; line: number; col: number}> = []
  for (const frame of stack.split('\n').slice(1)) {
    const m = /(?:\(|at )([^()]*?):(\d+):(\d+)\)?$/.exec(frame.trim())
    if (m) frames.push({file: m[1], line: Number(m[2]), col: Number(m[3])})
  }
  return frames
}

/**
 * A syntax error as a problem at its line and column: a CommonJS SyntaxError's stack and `node --check`'s output
 * name the file (`label`) and line, then the source line and a caret under the fault. Undefined when the report
 * names no line.
 */
function syntaxProblem(report: string, path: string, label = path): ConfigProblem | undefined {
  const at = new RegExp(`^${escapeRegExp(label)}:(\\d+)\n(?:.*\n( *)\\^)?`, 'm').exec(report)
  const message = /^SyntaxError: (.*)$/m.exec(report)?.[1]
  if (at === null || message === undefined) return undefined
  return {file: path, line: Number(at[1]), col: (at[2]?.length ?? 0) + 1, message: `behavior module cannot be loaded: SyntaxError: ${message}`}
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** How Node loads a module: as an ES module or as CommonJS. */
type ModuleFormat = 'module' | 'commonjs'

/**
 * The format Node gives the file by its name: .mjs and .cjs say it, any other (.js) takes the `type` of the nearest
 * package.json (looked up as Node does, not past a node_modules folder). Undefined when neither says: Node then
 * decides by the source (syntax detection, on by default since Node 20.19), and so does syntaxProblemByCheck.
 */
export function declaredModuleFormat(path: string): ModuleFormat | undefined {
  if (/\.mjs$/i.test(path)) return 'module'
  if (/\.cjs$/i.test(path)) return 'commonjs'
  for (let dir = dirname(path); basename(dir) !== 'node_modules'; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      let type: unknown
      try {
        type = (JSON.parse(readFileSync(manifest, 'utf8')) as {type?: unknown}).type
      } catch {
        return undefined
      }
      return type === 'module' ? 'module' : type === 'commonjs' ? 'commonjs' : undefined
    }
    if (dirname(dir) === dir) break
  }
  return undefined
}

/** What a CommonJS parse says of a file that only an ES module may be (Node's own cue to load it as one). */
const ESM_ONLY_SYNTAX = /^SyntaxError: (Cannot use import statement outside a module|Unexpected token 'export'|Cannot use 'import\.meta' outside a module)/m

/**
 * The module's syntax error, at its own line and column, parsed as Node will load it (nothing of it runs). The source
 * goes to `node --check` on stdin with the format said (--input-type), since `node --check file.js` of a .js that
 * Node only detects to be an ES module parses it as CommonJS and, under Node 20, passes it whatever it holds. Where
 * the format is not declared, the source is parsed as CommonJS, and where that fails on syntax only an ES module
 * has (import, export, import.meta) or fails and parses as an ES module, as one: Node's detection does the same.
 */
function syntaxProblemByCheck(path: string): ConfigProblem | undefined {
  let source: string
  try {
    source = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  const check = (format: ModuleFormat): string | undefined => {
    const child = spawnSync(process.execPath, ['--no-warnings', '--check', `--input-type=${format}`], {input: source, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL'})
    return child.status === 0 || child.status === null ? undefined : child.stderr
  }
  const declared = declaredModuleFormat(path)
  let report: string | undefined
  if (declared) report = check(declared)
  else {
    const asCommonJs = check('commonjs')
    if (asCommonJs !== undefined) {
      const asModule = check('module')
      report = asModule === undefined ? undefined : ESM_ONLY_SYNTAX.test(asCommonJs) ? asModule : asCommonJs
    }
  }
  if (report === undefined) return undefined
  return syntaxProblem(report, path, '[stdin]') ?? {file: path, message: `behavior module cannot be loaded: ${/^SyntaxError: .*$/m.exec(report)?.[0] ?? report.trim().split('\n')[0]}`}
}

/** Where loading the module throws, when what it throws is no Error: Node's report of an uncaught throw names it. */
function uncaughtAt(path: string): {line?: number; col?: number} {
  const child = spawnSync(process.execPath, ['--trace-uncaught', '-e', 'require(process.argv[1])', path], {encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL'})
  const thrownAt = /^Thrown at:\n(.*)$/m.exec(child.stderr ?? '')
  const frame = thrownAt ? stackFrames(`\n${thrownAt[1]}`)[0] : undefined
  return frame && sameFile(frame.file, path) ? {line: frame.line, col: frame.col} : {}
}

/** The await at the top level of an ES module (or of one it imports), as Node's --experimental-print-required-tla names it. */
function topLevelAwaitAt(path: string): {line?: number; col?: number} {
  const child = spawnSync(process.execPath, ['--experimental-print-required-tla', '-e', 'try { require(process.argv[1]) } catch {}', path], {encoding: 'utf8', timeout: CHILD_TIMEOUT_MS, killSignal: 'SIGKILL'})
  const m = /top-level await at (\S+):(\d+)\n.*\n( *)\^/.exec(child.stderr ?? '')
  return m && sameFile(m[1], path) ? {line: Number(m[2]), col: m[3].length + 1} : {}
}

/** A value as a message shows it in an error: text quoted, long text cut. */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value)
  if (value === null || value === undefined) return String(value)
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'an object'
  return typeof value === 'function' ? 'a function' : `${typeof value} ${String(value)}`
}

/**
 * device.set's value in the type the field holds, as a command's `set` takes it (coerce, device-commands.ts): "21.5"
 * for a number field is 21.5. What a command would fail on throws: no such field, a value that is no number, text or
 * true/false, text that is no number for a number field (it would have published {"rpm":"fast"}).
 */
function settable(host: DeviceHost, field: string, value: unknown): FieldValue {
  const current = host.current(field)
  if (current === undefined) throw new Error(`device.set: no field "${field}"`)
  if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') {
    throw new Error(`device.set: field ${field} takes a number, text or true/false, not ${describeValue(value)}`)
  }
  const held = coerce(value, current)
  if (typeof held === 'number' && Number.isNaN(held)) throw new Error(`device.set: field ${field} is a number, but ${describeValue(value)} is not one`)
  return held
}

/**
 * A topic device.publish may send to, or a throw: a broker answers a PUBLISH to a wildcard, an empty topic or one
 * with NUL by closing the connection (the device would reconnect, and lose what was in flight), so it is refused here,
 * by the rules a scenario's topics are checked by (topic-rules.ts).
 */
function publishable(topic: unknown): string {
  if (typeof topic !== 'string') throw new Error(`device.publish: the topic must be text, not ${describeValue(topic)}; nothing was sent`)
  const fault = findTopicFault(topic)
  if (fault) throw new Error(`device.publish: topic ${describeValue(topic)} ${fault.what}${fault.column > 1 ? ` at column ${fault.column}` : ''}: ${fault.why}; nothing was sent`)
  return topic
}

/** A payload as sent: text as it is, anything JSON can write as JSON. */
function publishedText(payload: unknown): string {
  if (typeof payload === 'string') return payload
  const json = payload === undefined || typeof payload === 'function' || typeof payload === 'symbol' ? undefined : JSON.stringify(payload)
  if (json === undefined) throw new Error(`device.publish: the payload must be text or a value JSON can write, not ${describeValue(payload)}; nothing was sent`)
  return json
}

/**
 * One device's side of a behaviour module. Errors thrown by the user's code (its own, or what the device API refuses)
 * are counted as errors of the fleet and said once per distinct message as a warning (the worker's warnOnce), never
 * fatal; a throw the hook catches itself is its own to handle.
 */
export class DeviceBehavior {
  private readonly filters: string[]
  private readonly device: BehaviorDevice
  private started = false
  private n = 0

  constructor(
    private readonly mod: BehaviorModule,
    private readonly host: DeviceHost,
    private readonly counters: CommandCounters & {errors: number},
  ) {
    this.filters = (mod.subscribe ?? []).map((t) => renderTemplate(parseTemplate(t), (name) => host.vars[name]))
    const count = () => this.n
    this.device = {
      id: host.deviceId,
      vars: host.vars,
      get n() {
        return count()
      },
      state: {},
      get: (field) => host.value(field),
      set: (field, value) => host.hold(field, settable(host, field, value)),
      release: (field) => host.release(field),
      setMode: (mode) => {
        if (!host.setMode(mode)) throw new Error(`device.setMode: no mode "${mode}"`)
      },
      startAnomaly: (name) => {
        if (!host.startAnomaly(name, 'behavior')) throw new Error(`device.startAnomaly: no anomaly "${name}"`)
      },
      stopAnomaly: (name) => {
        if (!host.stopAnomaly(name)) throw new Error(`device.stopAnomaly: no anomaly "${name}"`)
      },
      publish: (topic, payload, options = {}) => {
        const qos = options.qos ?? 0
        if (qos !== 0 && qos !== 1 && qos !== 2) throw new Error(`device.publish: qos ${describeValue(qos)} is none of 0, 1, 2; nothing was sent`)
        return host.publish(publishable(topic), publishedText(payload), qos, options.retain ?? false, options.properties)
      },
    }
  }

  subscriptions(qos: 0 | 1 | 2 = 1): Array<{topic: string; qos: 0 | 1 | 2}> {
    return this.filters.map((topic) => ({topic, qos}))
  }

  /** True when the topic is the module's (it then got the message). */
  receive(topic: string, payload: Buffer, properties: {responseTopic?: string; correlationData?: Buffer} = {}): boolean {
    if (!this.filters.some((f) => topicMatches(f, topic))) return false
    this.counters.commandsReceived++
    if (!this.mod.onMessage) {
      this.counters.commandsIgnored++
      return true
    }
    const text = payload.toString('utf8')
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    if (this.call(() => this.mod.onMessage?.(this.device, {topic, payload, text, json, ...properties}))) this.counters.commandsApplied++
    else this.counters.commandsFailed++
    return true
  }

  /** Before message n is generated. */
  tick(): void {
    if (!this.started) {
      this.started = true
      if (this.mod.onStart) this.call(() => this.mod.onStart?.(this.device))
    }
    if (this.mod.onTick) this.call(() => this.mod.onTick?.(this.device))
    this.n++
  }

  private call(fn: () => void): boolean {
    try {
      fn()
      return true
    } catch (error) {
      this.counters.errors++
      this.host.warn(`behavior: ${error instanceof Error ? error.message : String(error)}`)
      return false
    }
  }
}
