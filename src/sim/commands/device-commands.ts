import {parseTemplate, renderTemplate, type Template} from '../../config/template.js'
import {topicMatches} from '../../net/topic-filter.js'
import {anomalyName, type FieldValue, type Rng} from '../generators/index.js'
import type {PublishProperties} from '../types.js'
import {commandName, type CommandRuleConfig, type FleetCommandsConfig, type TwinConfig} from './config.js'
import {compileJsonPath, isJsonPath, type JsonPath} from './json-path.js'
import {drawLatency} from './latency.js'
import {compilePublishProperties, type CompiledProperties} from './publish-properties.js'

/**
 * Devices that answer: a fleet's `commands:` rules and `twin:` compiled once (FleetCommands), and per device a
 * DeviceCommands that turns each message on its subscriptions into a reaction after a drawn latency — hold a field,
 * switch mode, reply (to the request's MQTT 5 response topic with its correlation data, or a topic template),
 * reboot — or, on the twin's desired topic, holds the desired fields and reports them.
 *
 * It knows nothing of sockets or threads: the fleet worker hands it a DeviceHost (fields, mode, publish, reboot)
 * and a timer function, so it is tested without a broker. A fleet without commands never builds one, so the
 * telemetry path pays nothing for this.
 */

/** The counters a device's commands add to (its fleet's FleetCounters). */
export interface CommandCounters {
  commandsReceived: number
  commandsApplied: number
  commandsReplied: number
  commandsReplyLost: number
  commandsFailed: number
  commandsIgnored: number
}

/** What a device's commands act on: the worker's device (model, client, connection). */
export interface DeviceHost {
  readonly deviceId: string
  readonly vars: Readonly<Record<string, string>>
  /** Holds a field at a value (the generator keeps stepping underneath); false when the field does not exist. */
  hold(field: string, value: FieldValue): boolean
  release(field: string): void
  /**
   * Switches the mode machine; false when the fleet has no such mode. `forMs`: held that long, then the machine's
   * own mode shows again (device-model.ts setMode).
   */
  setMode(mode: string, forMs?: number): boolean
  /** Starts one of the fleet's declared anomalies on the device, labelled as started by `command`; false: no such anomaly. */
  startAnomaly(name: string, command: string): boolean
  /** Ends the command-started occurrence of a declared anomaly now; false: no such anomaly. */
  stopAnomaly(name: string): boolean
  /**
   * A field's value as the device's last message showed it (a held one included): what a behaviour module reads.
   * Before the first message, the value that message will carry.
   */
  value(field: string): FieldValue | undefined
  /**
   * A field's value as the device holds it now, after any reaction (DeviceModel.current): what a reply shows and what
   * a requested value is made to fit. Before the device's first message, the value that message will carry.
   */
  current(field: string): FieldValue | undefined
  /**
   * Sends a message; false when the device is not up (not connected, or going down for a reboot or the run's stop):
   * nothing sent. When it returns true, `settled` (if given) is called once, with whether the message reached the
   * broker: a QoS 0 one when it was written to the connection, a QoS 1/2 one when the broker acknowledged it (false:
   * the connection it was on was given up before the acknowledgement came).
   */
  publish(
    topic: string,
    payload: string,
    qos: 0 | 1 | 2,
    retain: boolean,
    properties?: PublishProperties,
    correlationData?: Buffer,
    settled?: (reached: boolean) => void,
  ): boolean
  reboot(afterMs: number, will: boolean): void
  /** Says something once per run (a reply with nowhere to go); the worker rate-limits it. */
  warn(message: string): void
}

/** An MQTT 5 request's properties the reaction reads (MQTT.js's names). */
export interface RequestProperties {
  responseTopic?: string
  correlationData?: Buffer
}

export type Timers = (fn: () => void, ms: number) => {cancel(): void}

interface CompiledRule {
  name: string
  filters: Template[]
  qos: 0 | 1 | 2
  when: Array<[JsonPath, unknown]>
  set: Array<{field: string; value: unknown; path?: JsonPath}>
  release: string[]
  mode?: {value: string; path?: JsonPath; forMs?: number}
  anomaly?: {start?: {value: string; path?: JsonPath}; stop?: {value: string; path?: JsonPath}}
  config: CommandRuleConfig
  reply?: {topic?: Template; payload: Template; qos: 0 | 1 | 2; properties?: CompiledProperties}
  needsJson: boolean
}

const DEFAULT_REPLY = '{"status":"{status}","command":"{command}","deviceId":"{deviceId}"}'

export class FleetCommands {
  readonly rules: CompiledRule[]
  readonly twin?: {config: TwinConfig; desired: Template; reported: Template; fields?: Set<string>}
  /** The anomalies a command may name: the fleet's declared ones. */
  readonly anomalies: ReadonlySet<string>

  constructor(config: FleetCommandsConfig) {
    this.rules = (config.commands ?? []).map((rule, k): CompiledRule => {
      const when = Object.entries(rule.when ?? {}).map(([path, value]): [JsonPath, unknown] => [compileJsonPath(path), value])
      const set = Object.entries(rule.set ?? {}).map(([field, value]) =>
        typeof value === 'string' && isJsonPath(value) ? {field, value, path: compileJsonPath(value)} : {field, value},
      )
      const mode = rule.mode === undefined ? undefined : {...literalOrPath(rule.mode), forMs: rule.modeFor}
      const a = rule.anomaly
      const anomaly = a && {start: a.start === undefined ? undefined : literalOrPath(a.start), stop: a.stop === undefined ? undefined : literalOrPath(a.stop)}
      const r = rule.reply
      return {
        name: commandName(rule, k),
        filters: rule.topics.map((t) => parseTemplate(t)),
        qos: rule.qos,
        when,
        set,
        release: rule.release ?? [],
        mode,
        anomaly,
        config: rule,
        reply: r && {
          topic: r.topic === undefined ? undefined : parseTemplate(r.topic),
          payload: parseTemplate(r.payload ?? DEFAULT_REPLY, 'lenient'),
          qos: r.qos,
          properties: r.properties ? compilePublishProperties(r.properties) : undefined,
        },
        needsJson:
          when.length > 0 || set.some((s) => s.path) || mode?.path !== undefined || anomaly?.start?.path !== undefined || anomaly?.stop?.path !== undefined || (r?.payload?.includes('{request.') ?? false),
      }
    })
    this.anomalies = new Set((config.anomalies ?? []).map((spec, k) => anomalyName(spec, k)))
    if (config.twin) {
      this.twin = {config: config.twin, desired: parseTemplate(config.twin.desired), reported: parseTemplate(config.twin.reported), fields: config.twin.fields && new Set(config.twin.fields)}
    }
  }
}

/** The topic filters a device of the fleet subscribes to (deduplicated, the highest QoS asked for each). */
export function commandSubscriptions(fleet: FleetCommands, vars: Readonly<Record<string, string>>): Array<{topic: string; qos: 0 | 1 | 2}> {
  const lookup = (name: string) => vars[name]
  const byTopic = new Map<string, 0 | 1 | 2>()
  const add = (topic: string, qos: 0 | 1 | 2) => byTopic.set(topic, Math.max(byTopic.get(topic) ?? 0, qos) as 0 | 1 | 2)
  for (const rule of fleet.rules) for (const f of rule.filters) add(renderTemplate(f, lookup), rule.qos)
  if (fleet.twin) add(renderTemplate(fleet.twin.desired, lookup), fleet.twin.config.qos)
  return [...byTopic].map(([topic, qos]) => ({topic, qos}))
}

/** One device's command state: its rendered subscriptions, its random stream, its reactions still waiting. */
export class DeviceCommands {
  private readonly filters: Array<{filter: string; rule: CompiledRule}>
  private readonly twinTopic?: string
  private readonly pending = new Set<{cancel(): void}>()
  /** Reported twin state (field → value), the whole of it published by the generic style. */
  private readonly reported: Record<string, FieldValue> = {}

  constructor(
    private readonly fleet: FleetCommands,
    private readonly host: DeviceHost,
    private readonly counters: CommandCounters,
    private readonly rng: Rng,
    private readonly timers: Timers,
  ) {
    const lookup = (name: string) => host.vars[name]
    this.filters = fleet.rules.flatMap((rule) => rule.filters.map((f) => ({filter: renderTemplate(f, lookup), rule})))
    if (fleet.twin) this.twinTopic = renderTemplate(fleet.twin.desired, lookup)
  }

  /** Topic filters to subscribe to after each connect (deduplicated, the highest QoS asked for each). */
  subscriptions(): Array<{topic: string; qos: 0 | 1 | 2}> {
    return commandSubscriptions(this.fleet, this.host.vars)
  }

  /** Reactions that were still waiting for their latency. */
  get waiting(): number {
    return this.pending.size
  }

  /**
   * A message arrived on one of the device's subscriptions: the twin or the first rule that matches reacts. When
   * none does, `otherwise` (the behaviour module's onMessage) may take it; what nobody takes is counted as ignored.
   * Each message is counted received once, by whoever takes it.
   */
  receive(topic: string, payload: Buffer, properties: RequestProperties = {}, otherwise?: () => boolean): void {
    if (this.twinTopic !== undefined && topicMatches(this.twinTopic, topic)) {
      this.counters.commandsReceived++
      this.desired(payload)
      return
    }
    let json: unknown
    let parsed = false
    for (const {filter, rule} of this.filters) {
      if (!topicMatches(filter, topic)) continue
      if (rule.needsJson && !parsed) {
        parsed = true
        json = parseJson(payload)
      }
      if (rule.when.some(([path, value]) => path(json) !== value)) continue
      this.counters.commandsReceived++
      this.react(rule, topic, payload, json, properties)
      return
    }
    if (otherwise?.()) return
    this.counters.commandsReceived++
    this.counters.commandsIgnored++
  }

  /** Cancels the reactions still waiting (the run is stopping); they count as failed. Returns how many. */
  stop(): number {
    const n = this.pending.size
    for (const p of this.pending) p.cancel()
    this.pending.clear()
    this.counters.commandsFailed += n
    return n
  }

  private later(ms: number, fn: () => void): void {
    const handle = this.timers(() => {
      this.pending.delete(handle)
      fn()
    }, ms)
    this.pending.add(handle)
  }

  private react(rule: CompiledRule, topic: string, payload: Buffer, json: unknown, properties: RequestProperties): void {
    // Both draws happen for every command, so the stream stays aligned whatever the outcome.
    const delay = drawLatency(rule.config.latency, this.rng)
    const fails = this.rng.next() < rule.config.fail
    this.later(delay, () => {
      const ok = !fails && this.apply(rule, json)
      if (ok) this.counters.commandsApplied++
      else this.counters.commandsFailed++
      if (rule.reply) this.reply(rule, ok, topic, payload, json, properties)
      if (ok && rule.config.reboot) this.host.reboot(rule.config.reboot.after, rule.config.reboot.will)
    })
  }

  /** Applies a rule's changes; false (nothing changed) when a value is missing or does not fit. */
  private apply(rule: CompiledRule, json: unknown): boolean {
    const values: Array<[string, FieldValue]> = []
    for (const s of rule.set) {
      const v = s.path ? s.path(json) : s.value
      if (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean') return false
      const current = this.host.current(s.field)
      if (current === undefined) return false
      values.push([s.field, coerce(v, current)])
    }
    if (values.some(([, v]) => typeof v === 'number' && Number.isNaN(v))) return false
    let mode: string | undefined
    if (rule.mode) {
      const m = rule.mode.path ? rule.mode.path(json) : rule.mode.value
      if (typeof m !== 'string') return false
      mode = m
    }
    // An anomaly the fleet does not declare fails the command before anything of it is applied.
    const named = (a: {value: string; path?: JsonPath} | undefined): string | undefined | false => {
      if (!a) return undefined
      const name = a.path ? a.path(json) : a.value
      return typeof name === 'string' && this.fleet.anomalies.has(name) ? name : false
    }
    const start = named(rule.anomaly?.start)
    const stop = named(rule.anomaly?.stop)
    if (start === false || stop === false) return false
    if (mode !== undefined && !this.host.setMode(mode, rule.mode?.forMs)) return false
    for (const [field, v] of values) this.host.hold(field, v)
    for (const field of rule.release) this.host.release(field)
    // Stop first: a rule that stops one anomaly and starts another (or the same again) does both.
    if (stop !== undefined) this.host.stopAnomaly(stop)
    if (start !== undefined) this.host.startAnomaly(start, rule.name)
    return true
  }

  private reply(rule: CompiledRule, ok: boolean, topic: string, payload: Buffer, json: unknown, request: RequestProperties): void {
    const reply = rule.reply
    if (!reply) return
    const lookup = (name: string): string | number | boolean | undefined => {
      switch (name) {
        case 'status':
          return ok ? 'ok' : 'failed'
        case 'command':
          return rule.name
        case 'topic':
          return topic
        case 'payload':
          return payload.toString('utf8')
      }
      if (name.startsWith('request.')) return scalarText(compileJsonPath(`$.${name.slice('request.'.length)}`)(json))
      if (name in this.host.vars) return this.host.vars[name]
      return scalarText(this.host.current(name))
    }
    const lookupVars = (name: string) => this.host.vars[name]
    const to = request.responseTopic ?? (reply.topic ? renderTemplate(reply.topic, lookupVars) : undefined)
    if (to === undefined) {
      this.counters.commandsReplyLost++
      this.host.warn(`command ${rule.name}: a reply has no topic (the request carried no MQTT 5 response topic and the rule names no reply topic)`)
      return
    }
    const properties = reply.properties?.render(lookupVars)
    this.send(to, renderTemplate(reply.payload, lookup), reply.qos, false, properties, request.correlationData)
  }

  /**
   * Sends a reply or twin report and counts it once it is known whether it reached the broker: replied (a QoS 0 one
   * written to the connection, a QoS 1/2 one acknowledged), or lost (the device was not up when it fell due, or the
   * connection was given up before the acknowledgement).
   */
  private send(topic: string, payload: string, qos: 0 | 1 | 2, retain: boolean, properties?: PublishProperties, correlationData?: Buffer): void {
    const published = this.host.publish(topic, payload, qos, retain, properties, correlationData, (reached) => {
      if (reached) this.counters.commandsReplied++
      else this.lost('replies and twin reports whose connection was given up before the broker acknowledged them (a reboot or the run\'s stop) may not have arrived (counted as replies not sent)')
    })
    if (!published) this.lost('replies and twin reports due while a device was down (rebooting, its connection lost, or the run stopping) were not sent (counted as replies not sent)')
  }

  private lost(why: string): void {
    this.counters.commandsReplyLost++
    this.host.warn(why)
  }

  private desired(payload: Buffer): void {
    const twin = this.fleet.twin
    if (!twin) return
    const doc = parseJson(payload)
    // AWS sends {"state": {...delta}}; the generic style takes the object itself (or a {"state": ...} wrapper too).
    const state = doc !== null && typeof doc === 'object' && !Array.isArray(doc) && 'state' in doc ? (doc as {state: unknown}).state : doc
    const entries = state !== null && typeof state === 'object' && !Array.isArray(state) ? Object.entries(state as Record<string, unknown>) : []
    const wanted = entries.filter(([field]) => !twin.fields || twin.fields.has(field))
    const delay = drawLatency(twin.config.delay, this.rng)
    const fails = this.rng.next() < twin.config.fail
    this.later(delay, () => {
      const applied: Record<string, FieldValue> = {}
      if (!fails) {
        for (const [field, v] of wanted) {
          const current = this.host.current(field)
          if (current === undefined || (typeof v !== 'number' && typeof v !== 'string' && typeof v !== 'boolean')) continue
          const value = coerce(v, current)
          if (typeof value === 'number' && Number.isNaN(value)) continue
          this.host.hold(field, value)
          applied[field] = value
        }
      }
      if (Object.keys(applied).length === 0) {
        this.counters.commandsFailed++
        return
      }
      this.counters.commandsApplied++
      Object.assign(this.reported, applied)
      const body = twin.config.style === 'aws' ? {state: {reported: applied}} : this.reported
      this.send(renderTemplate(twin.reported, (name) => this.host.vars[name]), JSON.stringify(body), twin.config.qos, twin.config.retain)
    })
  }
}

function literalOrPath(value: string): {value: string; path?: JsonPath} {
  return isJsonPath(value) ? {value, path: compileJsonPath(value)} : {value}
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'))
  } catch {
    return undefined
  }
}

/**
 * A requested value in the type the field holds: "21.5" for a number field is 21.5 (NaN when it is no number). A
 * behaviour module's device.set goes through it too (behavior.ts), so a module and a command take the same values.
 */
export function coerce(v: string | number | boolean, current: FieldValue): FieldValue {
  if (typeof current === 'number') return typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : v.trim() === '' ? NaN : Number(v)
  if (typeof current === 'boolean') return typeof v === 'boolean' ? v : v === 'true' || v === 1
  return typeof v === 'string' ? v : String(v)
}

function scalarText(v: unknown): string | number | boolean | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  return JSON.stringify(v)
}
