import {createRequire} from 'node:module'
import {pathToFileURL} from 'node:url'
import {ConfigError, type ConfigProblem} from '../../errors.js'
import {parseTemplate, renderTemplate} from '../../config/template.js'
import {topicMatches} from '../../net/topic-filter.js'
import type {FieldValue} from '../generators/index.js'
import type {PublishProperties} from '../types.js'
import type {CommandCounters, DeviceHost} from './device-commands.js'

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
  /** Holds a field at a value until release (its generator keeps stepping underneath). */
  set(field: string, value: FieldValue): void
  release(field: string): void
  setMode(mode: string): void
  /** Starts one of the fleet's declared anomalies by name (labelled as started by the command "behavior"). */
  startAnomaly(name: string): void
  /** Ends the command-started occurrence of a declared anomaly now. */
  stopAnomaly(name: string): void
  /** Publishes (objects are sent as JSON); false when the device is not connected. */
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

/**
 * Loads a module synchronously (CommonJS, or ESM without top-level await through Node's require of ES modules), so
 * a worker has it before its first device connects. A module that cannot be loaded (a syntax error, or its top level
 * throws) or exports no hook is bad input, as a scenario error is (ConfigError, exit code 2): the error names the
 * module at file:line:col of the failure, which Node's own message does not.
 */
export function loadBehaviorModule(path: string): BehaviorModule {
  let loaded: Record<string, unknown>
  try {
    loaded = createRequire(import.meta.url)(path) as Record<string, unknown>
  } catch (error) {
    throw new ConfigError([loadFailure(error, path)])
  }
  const mod = (loaded && typeof loaded === 'object' && 'default' in loaded ? loaded.default : loaded) as BehaviorModule | undefined
  if (!mod || (typeof mod.onTick !== 'function' && typeof mod.onMessage !== 'function' && typeof mod.onStart !== 'function')) {
    throw new ConfigError([{file: path, message: 'behavior module exports none of onStart, onTick, onMessage'}])
  }
  if (mod.subscribe !== undefined && (!Array.isArray(mod.subscribe) || mod.subscribe.some((t) => typeof t !== 'string'))) {
    throw new ConfigError([{file: path, message: 'behavior module: subscribe must be a list of topic filter templates'}])
  }
  return mod
}

/**
 * What went wrong loading a module, and where: a CommonJS syntax error at its line (and column, from Node's caret);
 * an error its top level threw at the first frame of the module's own code. An ES module's syntax error names no line.
 */
function loadFailure(error: unknown, path: string): ConfigProblem {
  const what = (ran: boolean, text: string) => ({file: path, message: `behavior module cannot be loaded: ${ran ? 'its top level threw ' : ''}${text}`})
  if (!(error instanceof Error)) return what(true, typeof error === 'string' ? JSON.stringify(error) : String(error))
  const text = `${error.name}: ${error.message}`
  const stack = error.stack ?? ''
  const line = error.name === 'SyntaxError' ? syntaxErrorLine(stack, path) : undefined
  if (line !== undefined) {
    const caret = /^.*\n.*\n( *)\^/.exec(stack)
    return {...what(false, text), line: Number(line), col: caret ? caret[1].length + 1 : 1}
  }
  const url = pathToFileURL(path).href
  for (const frame of stack.split('\n').slice(1)) {
    const m = /(?:\(|at )([^()]*?):(\d+):(\d+)\)?$/.exec(frame.trim())
    if (m && (m[1] === path || m[1] === url)) return {...what(true, text), line: Number(m[2]), col: Number(m[3])}
  }
  return what(false, text)
}

/**
 * The line of `path` a Node syntax error report names: a CommonJS SyntaxError's stack and `node --check`'s output
 * start "file:line", then the source line and a caret. Undefined when it names none (an ES module's stack does not).
 */
export function syntaxErrorLine(report: string, path: string): string | undefined {
  const at = /^(.*):(\d+)\n/.exec(report)
  return at && at[1] === path ? at[2] : undefined
}

/** One device's side of a behaviour module. Errors thrown by the user's code are counted and said once, never fatal. */
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
      set: (field, value) => {
        if (!host.hold(field, value)) throw new Error(`device.set: no field "${field}"`)
      },
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
      publish: (topic, payload, options = {}) =>
        host.publish(topic, typeof payload === 'string' ? payload : JSON.stringify(payload), options.qos ?? 0, options.retain ?? false, options.properties),
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
