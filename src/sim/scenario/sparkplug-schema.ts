import {z} from 'zod'
import {SCALAR_TYPES, type ScalarTypeName} from '../../sparkplug/datatypes.js'
import {fieldSchema, type GeneratorSpec} from '../generators/generator-schema.js'
import {template} from '../../config/template-schema.js'
import {duration} from '../../config/units-schema.js'

/**
 * The `sparkplug:` section of a scenario: groups of Sparkplug B 3.0 edge nodes, each with its devices. A group is
 * `nodes` edge nodes (one MQTT connection each) under one Sparkplug group id, with `devices` devices behind each
 * node; every device has the group's `metrics`, every node the group's `nodeMetrics`. Values come from generators,
 * as MQTT fields and Modbus tags do, and are reported by exception (a metric goes out when it moved past its deadband).
 */

const NAME = /^[a-z][a-z0-9_-]*$/i
/** Sparkplug ids travel in topic levels: no separator, no wildcards. */
const SPARKPLUG_ID = /^[^/+#]+$/

const propertyValue = z.union([z.string(), z.number(), z.boolean()])

const metricSchema = z
  .strictObject({
    name: z.string().min(1, 'a metric name is not empty').regex(/^[^+#]+$/, 'a metric name may not hold + or #').meta({description: 'Metric name; / builds folders, e.g. Motor/Speed.'}),
    type: z.enum(SCALAR_TYPES).optional().meta({description: 'Sparkplug data type (default: Double for numbers, Boolean, String), e.g. Int16, UInt32, Float, Int64.'}),
    value: fieldSchema.optional().meta({description: 'The generator of the value, as for MQTT fields (a constant or {kind: ...}); default 0 (false, "").'}),
    deadband: z.number().min(0, 'deadband must be >= 0').optional().meta({description: 'Report by exception: a numeric value is published when it moved more than this since it was last reported (default 0: every change).'}),
    units: z.string().optional().meta({description: 'Engineering units, sent in the birth as the engUnit property.'}),
    properties: z.record(z.string(), propertyValue).optional().meta({description: 'More birth properties (engLow, engHigh, ...): numbers go as Double, true/false as Boolean, text as String.'}),
    writable: z.boolean().optional().meta({description: 'A command (DCMD/NCMD) may write it; the written value holds until the next write, as a Modbus setpoint does.'}),
  })
  .transform((m) => ({...m, deadband: m.deadband ?? 0, writable: m.writable ?? false, value: m.value ?? ({kind: 'constant', value: defaultValue(m.type)} as GeneratorSpec)}))

function defaultValue(type: ScalarTypeName | undefined): number | boolean | string {
  if (type === 'Boolean') return false
  if (type === 'String' || type === 'Text' || type === 'UUID' || type === 'Bytes') return ''
  return 0
}

export type SparkplugMetricConfig = z.output<typeof metricSchema>

const groupSchema = z
  .strictObject({
    name: z.string().regex(NAME, 'name must start with a letter and hold only letters, digits, - and _').meta({description: 'Name of this part of the scenario (counters and labels).'}),
    group: z.string().regex(SPARKPLUG_ID, 'a Sparkplug group id may not hold / + #').optional().meta({description: 'Sparkplug group id (default: name).'}),
    nodes: z.number().int('nodes must be a whole number').min(1, 'nodes must be at least 1').optional().meta({description: 'Edge nodes (default 1), one MQTT connection each.'}),
    nodeId: template().optional().meta({description: 'Edge node id template (default {name}-node-{index:03}); placeholders {name} {group} {index} {number}.'}),
    devices: z.number().int('devices must be a whole number').min(0, 'devices must be >= 0').optional().meta({description: 'Devices per edge node (default 1).'}),
    deviceId: template().optional().meta({description: 'Device id template (default dev-{index:03}); placeholders {name} {group} {node} {nodeIndex} {index} {number}.'}),
    every: duration({positive: true}).optional().meta({description: 'How often values are sampled and, by exception, published (default 1s).'}),
    primaryHost: z
      .string()
      .regex(SPARKPLUG_ID, 'a host id may not hold / + #')
      .optional()
      .meta({description: 'Primary host application id: edge nodes publish only while spBv1.0/STATE/<host> says online.'}),
    storeAndForward: z
      .strictObject({
        max: z.number().int('max must be a whole number').min(1, 'max must be at least 1').meta({description: 'Samples kept per edge node while it is not born; beyond it the oldest are dropped (counted).'}),
      })
      .optional()
      .meta({description: 'Keep samples taken while the node is not born (primary host offline, reconnecting) and send them after the next birth as historical data (is_historical, their own timestamps). Default: not kept, only counted as held.'}),
    nodeMetrics: z.array(metricSchema).optional().meta({description: 'Metrics of each edge node itself (NBIRTH/NDATA), beside bdSeq and Node Control/Rebirth.'}),
    metrics: z.array(metricSchema).optional().meta({description: 'Metrics of every device (DBIRTH/DDATA).'}),
  })
  .superRefine((g, ctx) => {
    for (const key of ['nodeMetrics', 'metrics'] as const) {
      const seen = new Set<string>()
      ;(g[key] ?? []).forEach((m, i) => {
        if (seen.has(m.name)) ctx.addIssue({code: 'custom', path: [key, i, 'name'], message: `metric ${m.name} is declared twice`})
        seen.add(m.name)
        if (key === 'nodeMetrics' && (m.name === 'bdSeq' || m.name.startsWith('Node Control/'))) ctx.addIssue({code: 'custom', path: [key, i, 'name'], message: `${m.name} is a metric iotd sends itself`})
      })
    }
    if ((g.devices ?? 1) > 0 && (g.metrics ?? []).length === 0) ctx.addIssue({code: 'custom', path: ['metrics'], message: 'devices need at least one metric (or set devices: 0)'})
  })
  .transform((g) => ({
    name: g.name,
    group: g.group ?? g.name,
    nodes: g.nodes ?? 1,
    nodeId: g.nodeId ?? '{name}-node-{index:03}',
    devices: g.devices ?? 1,
    deviceId: g.deviceId ?? 'dev-{index:03}',
    every: g.every ?? 1000,
    primaryHost: g.primaryHost,
    storeAndForward: g.storeAndForward,
    nodeMetrics: g.nodeMetrics ?? [],
    metrics: g.metrics ?? [],
  }))

export const sparkplugSectionSchema = z.array(groupSchema).min(1, 'sparkplug needs at least one group')

export type SparkplugGroupConfig = z.output<typeof groupSchema>
