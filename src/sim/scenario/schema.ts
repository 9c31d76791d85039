import {randomInt} from 'node:crypto'
import {z} from 'zod'
import {anomalySchema, fieldSchema} from '../generators/generator-schema.js'
import {modbusSectionSchema} from './modbus-schema.js'
import {sparkplugSectionSchema} from './sparkplug-schema.js'
import {paramsSchema, type RegistryRow} from './params.js'
import {scheduleEntrySchema, timezoneSchema} from './schedule-schema.js'
import type {ParamRef} from '../generators/device-params.js'
import {fleetCommandKeys} from './commands-schema.js'
import {byShape} from '../../config/shape-dispatch.js'
import type {PayloadSpec} from '../generators/encoders.js'
import {template} from '../../config/template-schema.js'
import {duration, fraction, jitter, rate, TOPIC_TEMPLATE_JSON_SCHEMA} from '../../config/units-schema.js'

/**
 * The scenario file, version 1. Objects are strict (an unknown key is an error, which catches typos).
 * The parsed `Scenario` holds plain numbers: durations in ms under the same key names (except the top-level
 * `duration`, which becomes `durationMs`), rates per second, percentages as fractions 0..1.
 * Checks that need the whole document (template names, expression references, modes) are in semantic-checks.ts.
 */

const NAME = /^[a-z][a-z0-9_-]*$/i
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/


/** QoS 1/2 messages a device holds by default while offline or while its in-flight window is full. */
export const DEFAULT_OFFLINE_QUEUE = 256

/** The largest keepalive MQTT can express: 65535 seconds. */
const MAX_KEEPALIVE_MS = 65_535_000

const qos = z.literal([0, 1, 2], 'qos must be 0, 1 or 2')

const messageSchema = z
  .strictObject({
    topic: template().meta({description: 'Topic template, e.g. acme/{site}/{deviceId}/status.', ...TOPIC_TEMPLATE_JSON_SCHEMA}),
    payload: template('lenient').optional().meta({description: 'Payload template (JSON braces are literal text). Default: empty.'}),
    qos: qos.optional(),
    retain: z.boolean().optional(),
  })
  .transform((m) => ({topic: m.topic, payload: m.payload ?? '', qos: m.qos ?? 0, retain: m.retain ?? false}))

const tlsSchema = z.strictObject({
  ca: z.string().optional().meta({description: 'CA certificate file (relative to the scenario file).'}),
  cert: z.string().optional().meta({description: 'Client certificate file (relative to the scenario file).'}),
  key: z.string().optional().meta({description: 'Client key file (relative to the scenario file).'}),
  insecure: z.boolean().optional().meta({description: 'Skip server certificate verification (testing only).'}),
  servername: z.string().optional().meta({description: 'SNI server name, when it differs from the URL host.'}),
})

const brokerSchema = z
  .strictObject({
    url: z
      .string()
      .regex(/^(mqtts?|wss?):\/\/[^\s]+$/, 'broker url must start with mqtt://, mqtts://, ws:// or wss://')
      .optional()
      .meta({description: 'Broker URL. Omit to use the embedded broker (or the --broker flag).'}),
    protocol: z
      .union([z.literal('3.1.1'), z.literal('5'), z.literal(5)])
      .optional()
      .meta({description: 'MQTT protocol version: "3.1.1" (default) or "5".'}),
    clientId: template().optional().meta({description: 'Client id template (default {deviceId}); must be unique per device.'}),
    username: z.string().optional(),
    password: z.string().optional().meta({description: 'Use ${env:NAME} rather than writing secrets into the file.'}),
    keepalive: duration()
      // CONNECT carries the keepalive as 16-bit seconds; a longer one would fail every connect.
      .refine((ms) => ms <= MAX_KEEPALIVE_MS, `keepalive must be at most 65535s (18h12m15s): MQTT sends it as a 16-bit number of seconds`)
      .optional()
      .meta({description: 'MQTT keepalive (default 30s, at most 65535s).'}),
    tls: tlsSchema.optional(),
    sourceIps: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .meta({description: 'Local source addresses to spread connections over: a list, "a,b" or a range "127.0.0.2-127.0.0.9".'}),
  })
  .transform((b) => ({
    ...b,
    protocol: b.protocol === undefined ? ('3.1.1' as const) : b.protocol === '3.1.1' ? ('3.1.1' as const) : ('5' as const),
    clientId: b.clientId ?? '{deviceId}',
    keepalive: b.keepalive ?? 30_000,
  }))

const connectSchema = z
  .strictObject({
    rate: rate().optional().meta({description: 'Connects per second (default 1000/s).'}),
    over: duration({positive: true}).optional().meta({description: 'Spread all connects evenly over this window instead of a rate.'}),
    timeout: duration({positive: true}).optional().meta({description: 'CONNECT to CONNACK timeout (default 10s).'}),
    pending: z.number().int().min(1, 'pending must be at least 1').optional().meta({description: 'Connects of one worker waiting for their CONNACK at most (default 100).'}),
  })
  .superRefine((c, ctx) => {
    if (c.rate !== undefined && c.over !== undefined) ctx.addIssue({code: 'custom', path: ['over'], message: 'give either rate or over, not both'})
  })
  .transform((c) => ({...(c.over === undefined ? {rate: c.rate ?? 1000} : {over: c.over}), timeout: c.timeout ?? 10_000, pending: c.pending ?? 100}))

const reconnectSchema = z
  .strictObject({
    initial: duration().optional().meta({description: 'First backoff delay (default 1s).'}),
    max: duration().optional().meta({description: 'Largest backoff delay (default 30s).'}),
    multiplier: z.number().min(1, 'multiplier must be >= 1').optional().meta({description: 'Growth factor per failed attempt (default 2).'}),
    jitter: z.enum(['full', 'equal', 'none']).optional().meta({description: 'full (default): random in [0, delay]; equal: delay/2 + random half; none.'}),
  })
  .transform((r) => ({initial: r.initial ?? 1000, max: r.max ?? 30_000, multiplier: r.multiplier ?? 2, jitter: r.jitter ?? ('full' as const)}))
  .superRefine((r, ctx) => {
    if (r.initial > r.max) ctx.addIssue({code: 'custom', path: ['initial'], message: 'initial is greater than max'})
  })

const stageSchema = z
  .strictObject({
    ramp: z
      .strictObject({to: fraction(), over: duration()})
      .optional()
      .meta({description: 'Bring connected devices to a share of each fleet over a window (down = clean disconnects).'}),
    steady: z.strictObject({for: duration({positive: true})}).optional().meta({description: 'Hold the current connections.'}),
    storm: z
      .strictObject({drop: fraction({exclusiveMin: true})})
      .optional()
      .meta({description: 'Destroy the sockets of a share of connected devices (no DISCONNECT, so LWTs fire); they reconnect with backoff.'}),
  })
  .superRefine((s, ctx) => {
    const kinds = Object.keys(s)
    if (kinds.length !== 1) ctx.addIssue({code: 'custom', path: [], message: `a stage has exactly one of ramp, steady or storm${kinds.length ? ` (got ${kinds.join(', ')})` : ''}`})
  })
  .transform((s) => {
    if (s.ramp) return {kind: 'ramp' as const, to: s.ramp.to, over: s.ramp.over}
    if (s.steady) return {kind: 'steady' as const, for: s.steady.for}
    return {kind: 'storm' as const, drop: s.storm?.drop ?? 0}
  })

const varSchema = byShape(
  {
    string: z.string(),
    number: z.number().transform(String),
    boolean: z.boolean().transform(String),
    object: z
      .strictObject({
        cycle: z.array(z.union([z.string(), z.number()])).min(1).optional().meta({description: 'values[index % n]'}),
        block: z
          .array(z.union([z.string(), z.number()]))
          .min(1)
          .optional()
          .meta({description: 'Contiguous blocks: values[floor(index * n / count)], or values[floor(index / size) % n] with size. Without size, changing count moves devices between blocks.'}),
        size: z
          .number()
          .int('size must be a whole number')
          .min(1, 'size must be at least 1')
          .optional()
          .meta({description: 'With block: devices per block, so adding devices never changes the value of existing ones.'}),
      })
      .superRefine((v, ctx) => {
        if ((v.cycle === undefined) === (v.block === undefined)) ctx.addIssue({code: 'custom', path: [], message: 'a var object needs exactly one of cycle or block'})
        if (v.size !== undefined && v.block === undefined) ctx.addIssue({code: 'custom', path: ['size'], message: 'size only applies to block vars'})
      })
      .transform((v) => (v.cycle ? {cycle: v.cycle.map(String)} : {block: (v.block ?? []).map(String), size: v.size})),
  },
  'a string or {cycle: [...]} / {block: [...], size: N}',
)

const payloadObject = z.discriminatedUnion('format', [
  z.strictObject({format: z.literal('json'), fields: z.array(z.string()).min(1).optional().meta({description: 'Subset and order of fields.'})}),
  z.strictObject({
    format: z.literal('csv'),
    fields: z.array(z.string()).min(1).optional(),
    delimiter: z.string().length(1, 'delimiter must be one character').optional(),
  }),
  z.strictObject({format: z.literal('raw'), template: template('lenient').meta({description: 'Text with {field} placeholders and the device\'s own ({deviceId}, {index}, vars, {params.x}), e.g. "{deviceId};{temperature};{status}".'})}),
])

const payloadSchema = byShape(
  {
    string: z.enum(['json', 'csv'], 'payload must be json, csv or an object with format (json, csv, raw)').transform((format) => ({format})),
    object: payloadObject,
  },
  'json, csv or {format: raw, template: ...}',
)


const modeSchema = z
  .strictObject({
    initial: z.string().min(1).meta({description: 'The mode a device starts in (with a schedule: the mode outside every entry).'}),
    transitions: z
      .record(z.string(), z.record(z.string(), z.number().min(0, 'a probability must be between 0 and 1').max(1, 'a probability must be between 0 and 1')))
      .optional()
      .meta({description: 'Per-message probabilities: {running: {idle: 0.01}}. Every mode must appear as a key (use {} for none).'}),
    schedule: z
      .array(scheduleEntrySchema)
      .min(1, 'schedule needs at least one entry')
      .optional()
      .meta({description: 'Modes by local time of day and day of week (the fleet\'s timezone); the first matching entry wins.'}),
    modes: z
      .array(z.string().min(1))
      .min(1, 'modes needs at least one mode')
      .optional()
      .meta({description: 'Modes besides initial, the schedule\'s and the transitions\' that a command or a behaviour module may put a device in (boost); also confirms a mode named once that is close to another.'}),
  })
  .superRefine((m, ctx) => {
    if (m.transitions !== undefined && m.schedule !== undefined) ctx.addIssue({code: 'custom', path: ['schedule'], message: 'give transitions (random, per message) or schedule (by the clock), not both'})
  })

/**
 * The most MQTT devices one scenario (one iotd process) may hold, over all its fleets: each costs a connection and
 * ~25–40 KB of memory, and the checks expand every device. Beyond it `sim lint` answers at once instead of
 * expanding a hundred million devices until memory runs out.
 */
export const MAX_SCENARIO_DEVICES = 1_000_000

export const fleetSchema = z
  .strictObject({
    name: z.string().regex(NAME, 'fleet name must start with a letter and hold only letters, digits, - and _'),
    count: z
      .number()
      .int('count must be a whole number')
      .min(1, 'count must be at least 1')
      .max(MAX_SCENARIO_DEVICES, `count must be at most ${MAX_SCENARIO_DEVICES.toLocaleString('en-US')} (the most devices one iotd process simulates); split a larger fleet over processes with --fleet or shards`),
    id: template().optional().meta({description: 'Device id template (default {fleet}-{index:04}).'}),
    clientId: template().optional().meta({description: 'Client id template for this fleet (default: broker.clientId).'}),
    vars: z.record(z.string().regex(FIELD_NAME, 'a var name must be an identifier'), varSchema).optional(),
    params: paramsSchema.optional(),
    registry: z.string().min(1).optional().meta({description: 'A device table (CSV with a header, or .jsonl; e.g. one iotd sim registry wrote) whose columns are params per device: by its index column, or row k for device k. Relative to the scenario file.'}),
    topic: template().meta({description: 'Telemetry topic template (no + or #: a device publishes to a topic, not a filter).', ...TOPIC_TEMPLATE_JSON_SCHEMA}),
    every: duration({positive: true}).meta({description: 'Interval between messages of each device.'}),
    jitter: jitter().optional(),
    qos: qos.optional(),
    retain: z.boolean().optional(),
    session: z.enum(['clean', 'persistent']).optional().meta({description: 'persistent = clean:false (MQTT 5: cleanStart false + sessionExpiry).'}),
    sessionExpiry: duration().optional().meta({description: 'MQTT 5 session expiry for persistent sessions (default 1h).'}),
    inflight: z.number().int().min(1, 'inflight must be at least 1').optional().meta({description: 'Max unacknowledged QoS 1/2 messages per device (default 16).'}),
    offlineQueue: z
      .number()
      .int()
      .min(0, 'offlineQueue must be at least 0')
      .max(1_000_000, 'offlineQueue must be at most 1000000 (each held message is kept in memory)')
      .optional()
      .meta({description: 'QoS 1/2 messages a device holds while it is disconnected or its in-flight window is full (default 256); more are dropped and counted. What is still held when the run ends is not sent: counted as unsent and warned about.'}),
    payload: payloadSchema.optional(),
    birth: messageSchema.optional().meta({description: 'Published once after each connect.'}),
    lwt: messageSchema.optional().meta({description: 'Last will, published by the broker when the connection drops.'}),
    death: messageSchema.optional().meta({description: 'Published on clean shutdown at the end of a run.'}),
    mode: modeSchema.optional(),
    timezone: timezoneSchema.optional(),
    fields: z
      .record(z.string().regex(FIELD_NAME, 'a field name must be an identifier (letters, digits, _)'), fieldSchema)
      .refine((f) => Object.keys(f).length > 0, 'fields needs at least one field'),
    anomalies: z.array(anomalySchema).optional(),
    ...fleetCommandKeys,
  })
  .transform((f) => ({
    ...f,
    id: f.id ?? '{fleet}-{index:04}',
    vars: f.vars ?? {},
    params: f.params ?? {},
    // Filled by loadScenario: where the fields use {params.x} as a number (params.ts).
    paramRefs: [] as ParamRef[],
    // Filled by loadScenario from `registry:`: the params of device k are registryParams[k].
    registryParams: [] as RegistryRow[],
    qos: f.qos ?? 0,
    retain: f.retain ?? false,
    session: f.session ?? ('clean' as const),
    inflight: f.inflight ?? 16,
    offlineQueue: f.offlineQueue ?? DEFAULT_OFFLINE_QUEUE,
    payload: (f.payload ?? {format: 'json'}) as PayloadSpec,
    anomalies: f.anomalies ?? [],
  }))

export const scenarioSchema = z
  .strictObject({
    $schema: z.string().optional(),
    version: z.literal(1, {error: (issue) => (issue.input === undefined ? 'missing required key "version" (write version: 1)' : 'version must be 1')}),
    name: z.string().optional(),
    description: z.string().optional(),
    seed: z.number().int('seed must be a whole number').optional().meta({description: 'Seed for every random stream; omit to get a random one (reported).'}),
    duration: duration({positive: true}).optional().meta({description: 'Run length; the run also ends at limit or Ctrl-C.'}),
    limit: z.number().int().min(1, 'limit must be at least 1').optional().meta({description: 'Total messages for the whole fleet.'}),
    broker: brokerSchema.optional(),
    connect: connectSchema.optional(),
    reconnect: reconnectSchema.optional(),
    stages: z.array(stageSchema).optional(),
    labels: z.string().optional().meta({description: 'Ground-truth anomaly label file (JSON lines), relative to the working directory.'}),
    fleets: z.array(fleetSchema).min(1, 'fleets needs at least one fleet').optional().meta({description: 'Groups of simulated MQTT devices.'}),
    modbus: modbusSectionSchema.optional().meta({description: 'Groups of simulated Modbus TCP devices (docs/modbus.md).'}),
    sparkplug: sparkplugSectionSchema.optional().meta({description: 'Groups of simulated Sparkplug B edge nodes and devices (docs/sparkplug.md).'}),
  })
  .superRefine((s, ctx) => {
    if (s.fleets === undefined && s.modbus === undefined && s.sparkplug === undefined) ctx.addIssue({code: 'custom', path: ['fleets'], message: 'missing required key "fleets" (a scenario needs at least one fleet, a modbus: or a sparkplug: section)'})
  })
  .transform(({duration: durationMs, ...s}) => ({
    ...s,
    // A file without a seed gets a random one here, once, so every consumer of this object (workers, labels,
    // the summary that reports it) uses the same streams.
    seed: s.seed ?? randomInt(0, 2 ** 31),
    /** The file sets no seed: this one was drawn for this load, and the next load draws another. */
    seedDrawn: s.seed === undefined,
    durationMs,
    broker: s.broker ?? {protocol: '3.1.1' as const, clientId: '{deviceId}', keepalive: 30_000},
    connect: s.connect ?? {rate: 1000, timeout: 10_000, pending: 100},
    reconnect: s.reconnect ?? {initial: 1000, max: 30_000, multiplier: 2, jitter: 'full' as const},
    stages: s.stages ?? [],
    fleets: s.fleets ?? [],
    modbus: s.modbus ?? [],
    sparkplug: s.sparkplug ?? [],
  }))

export type Scenario = z.output<typeof scenarioSchema>
export type FleetConfig = Scenario['fleets'][number]
export type StageSpec = Scenario['stages'][number]
export type {ModbusGroupConfig} from './modbus-schema.js'
export type {SparkplugGroupConfig} from './sparkplug-schema.js'
