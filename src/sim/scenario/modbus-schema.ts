import {z} from 'zod'
import {deviceMapFields, resolveTagList, tagFields, type RawTag} from '../../modbus/tag-map.js'
import type {ResolvedTag} from '../../modbus/types.js'
import {anomalySchema, deviceCountSchema, fieldSchema, type GeneratorSpec} from '../generators/generator-schema.js'
import {template} from '../../config/template-schema.js'
import {duration, fraction} from '../../config/units-schema.js'

/**
 * The `modbus:` section of a scenario: groups of simulated Modbus TCP devices. A group is `listeners` TCP
 * listeners (ports `port`, `port`+1, ...) with `units` unit ids behind each, so 4 listeners × 50 units is a
 * gateway-style plant of 200 devices and `units: 1` with 200 listeners is one port per device. Every device of a
 * group has the group's register map; each tag takes its value from a generator, as MQTT fields do.
 */

const NAME = /^[a-z][a-z0-9_-]*$/i

/** Modbus TCP unit ids: 0 is broadcast on serial lines, so a simulated device uses 1..255. */
const unitId = z.number().int('a unit id must be a whole number').min(1, 'unit ids are 1..255').max(255, 'unit ids are 1..255')

export const FAULT_KINDS = ['latency', 'no-response', 'exception', 'disconnect', 'flap'] as const
export type FaultKind = (typeof FAULT_KINDS)[number]

const faultSchema = z
  .strictObject({
    kind: z.enum(FAULT_KINDS).meta({description: 'latency (answers late), no-response (answers nothing), exception (answers an exception code), disconnect (drops the TCP connections once), flap (goes down and up every period).'}),
    share: fraction({exclusiveMin: true}).optional().meta({description: 'Chance of each of the group\'s devices to be one that can show this fault (decided per device by seed); devices: gives an exact number.'}),
    devices: deviceCountSchema.optional().meta({description: 'Exactly this many of the group\'s devices show this fault (3), or exactly this share, rounded (10%); chosen by seed.'}),
    probability: z.number().min(0).max(1).optional().meta({description: 'Chance per value update (every) that the fault starts.'}),
    schedule: z
      .strictObject({at: duration(), every: duration({positive: true}).optional()})
      .optional()
      .meta({description: 'Start at a fixed offset from the device\'s start, optionally repeating.'}),
    duration: duration().optional().meta({description: 'How long it lasts (default 0: one value update).'}),
    latency: duration().optional().meta({description: 'Added delay of every answer (latency; default 500ms).'}),
    code: z.number().int().min(1).max(255).optional().meta({description: 'Exception code to answer (exception; default 6, server device busy).'}),
    period: duration({positive: true}).optional().meta({description: 'Half-cycle of a flap: down for period, up for period, ... (default 2s).'}),
  })
  .superRefine((f, ctx) => {
    if ((f.share === undefined) === (f.devices === undefined)) ctx.addIssue({code: 'custom', path: [], message: `fault ${f.kind} needs exactly one of share (a chance per device) or devices (an exact number or share)`})
    if ((f.probability === undefined) === (f.schedule === undefined)) ctx.addIssue({code: 'custom', path: [], message: `fault ${f.kind} needs exactly one of probability or schedule`})
    if (f.latency !== undefined && f.kind !== 'latency') ctx.addIssue({code: 'custom', path: ['latency'], message: `latency only applies to kind latency (this fault is ${f.kind})`})
    if (f.code !== undefined && f.kind !== 'exception') ctx.addIssue({code: 'custom', path: ['code'], message: `code only applies to kind exception (this fault is ${f.kind})`})
    if (f.period !== undefined && f.kind !== 'flap') ctx.addIssue({code: 'custom', path: ['period'], message: `period only applies to kind flap (this fault is ${f.kind})`})
  })
  .transform((f) => ({...f, duration: f.duration ?? 0, latency: f.latency ?? 500, code: f.code ?? 6, period: f.period ?? 2000}))

export type FaultSpec = z.output<typeof faultSchema>

const simTagSchema = z.strictObject({
  ...tagFields,
  writable: z.boolean().optional().meta({description: 'A setpoint: clients may write it (holding registers and coils only); the written value holds until the next write.'}),
  value: fieldSchema.optional().meta({description: 'The generator of the tag\'s value, as for MQTT fields (a constant or {kind: ...}); default 0 (false, "").'}),
})

export type SimTag = ResolvedTag & {value: GeneratorSpec}

const mirrorSchema = z
  .strictObject({
    topic: template().meta({description: 'Topic template, e.g. plant/{deviceId}/registers; placeholders as for id.'}),
    qos: z.literal([0, 1, 2], 'qos must be 0, 1 or 2').optional(),
    retain: z.boolean().optional(),
  })
  .transform((m) => ({topic: m.topic, qos: m.qos ?? 0, retain: m.retain ?? false}))

const serialSchema = z.strictObject({
  device: z
    .string()
    .min(1)
    .optional()
    .meta({description: 'pty (default): iotd makes a pseudo-terminal and prints its path (socat is needed); pty:PATH puts it at PATH; or a device path such as /dev/ttyUSB0.'}),
  baud: z.number().int().min(50, 'baud must be at least 50').max(4_000_000).optional().meta({description: 'Baud rate (default 19200).'}),
  parity: z.enum(['none', 'even', 'odd']).optional().meta({description: 'Parity (default none; a pseudo-terminal takes none only).'}),
  dataBits: z.union([z.literal(7), z.literal(8)]).optional(),
  stopBits: z.union([z.literal(1), z.literal(2)]).optional(),
})

export const modbusGroupSchema = z
  .strictObject({
    name: z.string().regex(NAME, 'group name must start with a letter and hold only letters, digits, - and _'),
    host: z.string().optional().meta({description: 'Listen address (default 127.0.0.1).'}),
    port: z
      .number()
      .int()
      .min(0, 'port must be 0..65535')
      .max(65535, 'port must be 0..65535')
      .optional()
      .meta({description: 'First listener port (default 5020); listener k listens on port + k. 0 = ports chosen by the OS (printed at start).'}),
    listeners: z.number().int().min(1, 'listeners must be at least 1').max(65535, 'listeners must be at most 65535 (one TCP port each)').optional().meta({description: 'TCP listeners in the group (default 1).'}),
    units: z
      .union([z.number().int().min(1, 'units must be at least 1').max(255, 'at most 255 units per listener'), z.array(unitId).min(1, 'units needs at least one unit id')])
      .optional()
      .meta({description: 'Unit ids behind each listener: a count N (ids 1..N) or a list (default 1).'}),
    id: template().optional().meta({description: 'Device id template (default {fleet}-{index:04}); placeholders {fleet} {index} {number} {unit} {port} {listener}.'}),
    every: duration({positive: true}).optional().meta({description: 'How often the register values update (default 1s).'}),
    ...deviceMapFields,
    unknownUnit: z.enum(['ignore', 'exception']).optional().meta({description: 'A request for a unit id the listener does not have: ignore (no answer, default) or exception 0x0B (gateway target failed to respond).'}),
    tags: z.array(simTagSchema).min(1, 'tags needs at least one tag'),
    anomalies: z.array(anomalySchema).optional().meta({description: 'Anomalies on tag values, as for MQTT fleets (field = tag name).'}),
    faults: z.array(faultSchema).optional().meta({description: 'Protocol faults, scheduled like anomalies and labelled in the labels file.'}),
    mirror: mirrorSchema.optional().meta({description: 'Also publish each device\'s tag values as JSON to the scenario\'s MQTT broker at every update.'}),
    transport: z
      .enum(['tcp', 'rtu-tcp', 'rtu'])
      .optional()
      .meta({description: 'tcp (Modbus TCP, default); rtu-tcp (RTU frames over the TCP listeners, as serial gateways pass them); rtu (one serial line: serial.device).'}),
    serial: serialSchema.optional().meta({description: 'The serial line of transport: rtu (and the baud rate whose timing lineTiming simulates).'}),
    lineTiming: z.boolean().optional().meta({description: 'RTU: answer no sooner than the exchange takes at serial.baud (11 bits a byte, plus 3.5 characters of silence). Default false.'}),
  })
  .superRefine((g, ctx) => {
    if (g.transport === 'rtu' && g.listeners !== undefined && g.listeners !== 1) ctx.addIssue({code: 'custom', path: ['listeners'], message: 'a serial line (transport: rtu) is one listener; give one group per line'})
    if (g.transport === 'rtu' && g.port !== undefined) ctx.addIssue({code: 'custom', path: ['port'], message: 'transport: rtu listens on serial.device, not a port'})
    if ((g.transport ?? 'tcp') === 'tcp' && (g.serial !== undefined || g.lineTiming !== undefined)) ctx.addIssue({code: 'custom', path: [g.serial !== undefined ? 'serial' : 'lineTiming'], message: 'serial and lineTiming apply to transport: rtu or rtu-tcp'})
  })
  .transform((g, ctx) => {
    const raws = g.tags as RawTag[]
    const {tags, problems} = resolveTagList(raws, {addressBase: g.addressBase, order: g.order})
    for (const p of problems) ctx.addIssue({code: 'custom', path: ['tags', ...p.path], message: p.message, input: g.tags})
    const byName = new Map(g.tags.map((t) => [t.name, t]))
    const simTags: SimTag[] = tags.map((t) => ({...t, value: byName.get(t.name)?.value ?? defaultValue(t)}))
    const units = typeof g.units === 'number' ? Array.from({length: g.units}, (_, i) => i + 1) : (g.units ?? [1])
    return {
      name: g.name,
      host: g.host ?? '127.0.0.1',
      port: g.port ?? 5020,
      listeners: g.listeners ?? 1,
      units,
      id: g.id ?? '{fleet}-{index:04}',
      every: g.every ?? 1000,
      addressBase: g.addressBase ?? 0,
      order: g.order ?? ('ABCD' as const),
      unknownUnit: g.unknownUnit ?? ('ignore' as const),
      tags: simTags,
      anomalies: g.anomalies ?? [],
      faults: g.faults ?? [],
      mirror: g.mirror,
      transport: g.transport ?? ('tcp' as const),
      serial: {device: g.serial?.device ?? 'pty', baud: g.serial?.baud ?? 19200, parity: g.serial?.parity ?? ('none' as const), dataBits: g.serial?.dataBits ?? (8 as const), stopBits: g.serial?.stopBits ?? (1 as const)},
      lineTiming: g.lineTiming ?? false,
    }
  })

function defaultValue(t: ResolvedTag): GeneratorSpec {
  return {kind: 'constant', value: t.type === 'bool' || t.type === 'bit' ? false : t.type === 'string' ? '' : 0}
}

export const modbusSectionSchema = z.array(modbusGroupSchema).min(1, 'modbus needs at least one device group')

export type ModbusGroupConfig = z.output<typeof modbusGroupSchema>
