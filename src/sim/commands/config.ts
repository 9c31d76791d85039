/**
 * What the command runtime needs of a fleet's `properties:`, `commands:` and `twin:` keys, as plain types. The zod
 * schema (scenario/commands-schema.ts) produces them; the runtime stands below the scenario model and never
 * imports it, as the generators do.
 */

/** MQTT 5 publish properties as a scenario writes them (durations in ms, words instead of flags). */
export interface PublishPropertiesConfig {
  userProperties?: Record<string, string>
  messageExpiry?: number
  contentType?: string
  payloadFormat?: 'utf8' | 'bytes'
  topicAlias?: boolean
  responseTopic?: string
  correlationData?: string
}

/** A delay drawn per command: fixed, uniform between min and max, or normal clipped to [min, max]. */
export type LatencySpec =
  | {kind: 'fixed'; ms: number}
  | {kind: 'uniform'; min: number; max: number}
  | {kind: 'normal'; mean: number; stddev: number; min: number; max: number}

export type JsonScalar = string | number | boolean | null

export interface ReplyConfig {
  topic?: string
  payload?: string
  qos: 0 | 1 | 2
  properties?: PublishPropertiesConfig
}

export interface CommandRuleConfig {
  name?: string
  topics: string[]
  qos: 0 | 1 | 2
  when?: Record<string, JsonScalar>
  set?: Record<string, number | boolean | string>
  release?: string[]
  mode?: string
  /** How long a commanded mode holds (ms) before the mode machine's own mode shows again. */
  modeFor?: number
  /** Start and/or stop one of the fleet's declared anomalies by name (or "$.path": the name from the request). */
  anomaly?: {start?: string; stop?: string}
  reboot?: {after: number; will: boolean}
  reply?: ReplyConfig
  latency: LatencySpec
  fail: number
}

/** A rule's name as replies ({command}), labels and messages show it: its `name:`, else command-N (1-based). */
export function commandName(rule: Pick<CommandRuleConfig, 'name'>, index: number): string {
  return rule.name ?? `command-${index + 1}`
}

export interface TwinConfig {
  style: 'aws' | 'generic'
  desired: string
  reported: string
  fields?: string[]
  delay: LatencySpec
  fail: number
  qos: 0 | 1 | 2
  retain: boolean
}

/** What a fleet declares for its devices to answer (absent keys: the fleet does not subscribe to anything). */
export interface FleetCommandsConfig {
  name: string
  commands?: readonly CommandRuleConfig[]
  twin?: TwinConfig
  /** Absolute path of the fleet's behaviour module. */
  behavior?: string
  /** The fleet's declared anomalies (their names: `name:` or anomaly-N), which commands may start and stop. */
  anomalies?: ReadonlyArray<{name?: string}>
}
