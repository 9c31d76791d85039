import {UsageError} from '../../errors.js'
import {closestName} from '../../config/did-you-mean.js'
import {hashUniform} from '../generators/prng.js'
import {drawParams} from '../generators/device-params.js'
import type {DeviceSpec, MessageSpec} from '../types.js'
import type {FleetConfig, Scenario} from './schema.js'
import {fleetJitterMs} from './semantic-checks.js'
import {parseTemplate, renderTemplate, type Template} from '../../config/template.js'
import {compilePublishProperties} from '../commands/publish-properties.js'
import {shardPart} from '../../pacing/shard-part.js'

/**
 * Turns fleets into concrete devices: templates rendered, vars assigned, a seeded phase per device.
 * Everything random is keyed by (seed, fleet name, index), so adding devices or fleets never changes an
 * existing device.
 */

/**
 * Session expiry of persistent MQTT 5 sessions when the fleet gives none. MQTT 5's own default (0) ends the
 * session at disconnect, which would make `session: persistent` keep nothing.
 */
export const DEFAULT_PERSISTENT_SESSION_EXPIRY_MS = 3_600_000

export interface ExpandOptions {
  /** Only these fleets (by name); default all. */
  fleets?: string[]
  /**
   * Only shard `index` (0-based) of `count`: every count-th device of the (selected) fleets in order, from the
   * index-th, so shards of one scenario split its devices exactly, none twice, with the same streams as one run.
   */
  shard?: {index: number; count: number}
  /**
   * Devices outside the fleets that the same shard split also divides (a backfill's Modbus devices): a shard is
   * refused only when it holds none of either.
   */
  alsoSplit?: number
}

// The one split rule, shared with iotd bench's shards (pacing/shard-part.ts).
export {shardPart}

/**
 * A live run's shard splits the MQTT fleets only: the modbus: and sparkplug: sections listen and publish as one
 * process, so `iotd sim --shard` and its --dry-run refuse a scenario that has them. A backfill (and `iotd sim
 * registry`, which lists its devices) splits the Modbus devices by shardPart too.
 */
export function refuseShardBesideFleets(scenario: Scenario, shard: {index: number; count: number} | undefined): void {
  if (shard && shard.count > 1 && (scenario.modbus.length > 0 || scenario.sparkplug.length > 0)) {
    throw new UsageError('--shard splits the MQTT fleets of a scenario; its modbus: and sparkplug: sections listen and publish as one process', ['run them from a scenario without the MQTT fleets, and shard a scenario with only fleets:'])
  }
}

/** A shard's part of the whole run's message limit: the parts of all shards add up to it exactly. */
export function shardLimit(limit: number | undefined, shard: {index: number; count: number} | undefined): number | undefined {
  if (limit === undefined || !shard) return limit
  return Math.floor((limit * (shard.index + 1)) / shard.count) - Math.floor((limit * shard.index) / shard.count)
}

export function expandDevices(scenario: Scenario, options: ExpandOptions = {}): DeviceSpec[] {
  const seed = scenario.seed
  let fleets = scenario.fleets
  if (options.fleets) {
    const known = new Set(fleets.map((f) => f.name))
    const unknown = options.fleets.filter((n) => !known.has(n))
    if (unknown.length > 0) {
      const named = unknown.map((n) => {
        const hint = closestName(n, [...known])
        return `"${n}"${hint ? ` (did you mean ${hint}?)` : ''}`
      })
      throw new UsageError(`unknown fleet ${named.join(', ')}`, [`fleets in this scenario: ${[...known].join(', ')}`])
    }
    const wanted = new Set(options.fleets)
    fleets = fleets.filter((f) => wanted.has(f.name))
  }
  const devices: DeviceSpec[] = []
  for (const fleet of fleets) expandFleet(scenario, fleet, seed, devices)
  const shard = options.shard
  if (!shard || shard.count === 1) return devices
  // A shard past the last device would run, back-fill or list nothing: said, never an empty success.
  const others = options.alsoSplit ?? 0
  const most = Math.max(devices.length, others)
  if (shard.index >= most) {
    const of = options.fleets
      ? `the ${devices.length} devices of --fleet ${options.fleets.join(',')}`
      : others > 0
        ? `a scenario of ${devices.length} fleet devices and ${others} Modbus devices`
        : `a ${devices.length}-device scenario`
    throw new UsageError(`shard ${shard.index + 1}/${shard.count} of ${of} holds no devices: there are more shards than devices`, [`split it into at most ${most} shards`])
  }
  return shardPart(devices, shard)
}

interface CompiledMessage {
  topic: Template
  payload: Template
  qos: MessageSpec['qos']
  retain: boolean
}

function compileMessage(m: FleetConfig['birth']): CompiledMessage | undefined {
  if (!m) return undefined
  return {topic: parseTemplate(m.topic), payload: parseTemplate(m.payload, 'lenient'), qos: m.qos, retain: m.retain}
}

function expandFleet(scenario: Scenario, fleet: FleetConfig, seed: number, out: DeviceSpec[]): void {
  const varTemplates = Object.entries(fleet.vars).map(([name, v]) => [name, typeof v === 'string' ? parseTemplate(v, 'lenient') : v] as const)
  const id = parseTemplate(fleet.id)
  const clientId = parseTemplate(fleet.clientId ?? scenario.broker.clientId)
  const topic = parseTemplate(fleet.topic)
  const birth = compileMessage(fleet.birth)
  const lwt = compileMessage(fleet.lwt)
  const death = compileMessage(fleet.death)
  const jitterMs = fleetJitterMs(fleet)
  const hasParams = Object.keys(fleet.params).length > 0 || fleet.registryParams.length > 0
  const properties = fleet.properties ? compilePublishProperties(fleet.properties) : undefined

  for (let index = 0; index < fleet.count; index++) {
    const vars: Record<string, string> = {fleet: fleet.name, index: String(index), number: String(index + 1)}
    // Drawn from the device's own streams before its vars render, so every template can use {params.x}.
    const params = hasParams ? {...fleet.registryParams[index], ...drawParams(seed, fleet.name, index, fleet.params, vars)} : {}
    for (const [name, value] of Object.entries(params)) vars[`params.${name}`] = String(value)
    const lookup = (name: string) => vars[name]
    for (const [name, v] of varTemplates) {
      if ('parts' in v) vars[name] = renderTemplate(v, lookup)
      else if (v.cycle) vars[name] = v.cycle[index % v.cycle.length]
      else if (v.block && v.size !== undefined) vars[name] = v.block[Math.floor(index / v.size) % v.block.length]
      // Without a size the blocks split the fleet evenly, so they depend on count (documented).
      else if (v.block) vars[name] = v.block[Math.floor((index * v.block.length) / fleet.count)]
    }
    vars.deviceId = renderTemplate(id, lookup)
    const message = (m: CompiledMessage | undefined): MessageSpec | undefined =>
      m && {topic: renderTemplate(m.topic, lookup), payload: renderTemplate(m.payload, lookup), qos: m.qos, retain: m.retain}
    const device: DeviceSpec = {
      fleet: fleet.name,
      index,
      deviceId: vars.deviceId,
      clientId: renderTemplate(clientId, lookup),
      topic: renderTemplate(topic, lookup),
      vars,
      everyMs: fleet.every,
      jitterMs,
      // Spread the fleet over one period so devices do not all publish in the same millisecond.
      phaseMs: Math.floor(hashUniform([seed, fleet.name, index, 'phase']) * fleet.every),
      qos: fleet.qos,
      retain: fleet.retain,
      cleanSession: fleet.session === 'clean',
      inflight: fleet.inflight,
      offlineQueue: fleet.offlineQueue,
    }
    // Only fleets with params carry them: a device costs no more memory for a feature it does not use.
    if (hasParams) device.params = params as DeviceSpec['params']
    if (fleet.sessionExpiry !== undefined) device.sessionExpiryMs = fleet.sessionExpiry
    else if (!device.cleanSession && scenario.broker.protocol === '5') device.sessionExpiryMs = DEFAULT_PERSISTENT_SESSION_EXPIRY_MS
    const b = message(birth)
    const l = message(lwt)
    const d = message(death)
    if (b) device.birth = b
    if (l) device.lwt = l
    if (d) device.death = d
    if (properties) device.properties = properties.render(lookup)
    out.push(device)
  }
}
