import {createHash} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {basename} from 'node:path'
import type {Scenario} from './schema.js'
import {modbusDeviceCount} from './modbus-expand.js'

/**
 * What a shard records of the scenario it ran a part of, so `iotd sim merge` can refuse shards of different
 * definitions: two files with one name and seed whose fleets differ split into shards that overlap or leave devices
 * out, and their sum is the run of neither.
 */
export interface ScenarioFingerprint {
  /** 16 hex digits of a SHA-256 over the parts of the scenario that decide which devices exist and what they send. */
  fingerprint: string
  /** The devices of the whole run (every shard together): MQTT fleet devices, plus Modbus devices where they run. */
  devices: number
}

export interface FingerprintOptions {
  /** The fleets a --fleet selection ran (default all): another selection is another set of devices. */
  fleets?: readonly string[]
  /** Whether the Modbus groups ran beside the fleets (a backfill without --fleet); default true. */
  modbus?: boolean
}

/**
 * The fingerprint of the devices a run of `scenario` holds: its fleets (names, counts, ids, topics, fields,
 * anomalies, commands, vars, params), Modbus and Sparkplug groups, stages, connect and reconnect settings, and the
 * broker's protocol, client id template and keepalive. Not in it: the name and the seed (a merge compares and names
 * them on their own), the description, duration and limit (a run's length; a merge warns when the shards' differ),
 * the labels file, and where the devices connected (broker address, TLS, credentials, source addresses: shards on
 * different machines may differ there, and no secret is hashed). A behaviour module counts by its file's text, not
 * its path. The same file and iotd give the same fingerprint on every machine (keys sorted).
 */
export function scenarioFingerprint(scenario: Scenario, options: FingerprintOptions = {}): ScenarioFingerprint {
  const wanted = options.fleets ? new Set(options.fleets) : undefined
  // A behaviour module's path is absolute once loaded, and differs between checkouts: its text is what it sends.
  const fleets = (wanted ? scenario.fleets.filter((f) => wanted.has(f.name)) : scenario.fleets).map((f) => (f.behavior ? {...f, behavior: fileDigest(f.behavior)} : f))
  const modbus = options.modbus === false ? [] : scenario.modbus
  const {protocol, clientId, keepalive} = scenario.broker
  const defining = {
    fleets,
    modbus,
    sparkplug: scenario.sparkplug,
    stages: scenario.stages,
    connect: scenario.connect,
    reconnect: scenario.reconnect,
    broker: {protocol, clientId, keepalive},
  }
  const fingerprint = createHash('sha256').update(canonicalJson(defining)).digest('hex').slice(0, 16)
  const devices = fleets.reduce((n, f) => n + f.count, 0) + (options.modbus === false ? 0 : modbusDeviceCount(scenario))
  return {fingerprint, devices}
}

/** The SHA-256 of a file's bytes; its name when it cannot be read (the run itself would have said why). */
function fileDigest(path: string): string {
  try {
    return `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex')}`
  } catch {
    return basename(path)
  }
}

/** JSON with every object's keys sorted and undefined left out, so equal values give equal text. */
function canonicalJson(value: unknown): string {
  if (value === undefined || typeof value === 'function') return 'null'
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null'
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`
  if (value instanceof Map) return canonicalJson(Object.fromEntries(value))
  if (value instanceof Set) return canonicalJson([...value])
  if (value instanceof Date) return JSON.stringify(value.toISOString())
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`
}
