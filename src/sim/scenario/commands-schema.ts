import {z} from 'zod'
import {byShape} from '../../config/shape-dispatch.js'
import {template} from '../../config/template-schema.js'
import {duration, fraction} from '../../config/units-schema.js'
import type {CommandRuleConfig, LatencySpec, TwinConfig} from '../commands/config.js'

/**
 * The parts of a fleet that make devices answer: MQTT 5 publish `properties:` (telemetry and replies), `commands:`
 * (subscriptions on topic templates with declared reactions) and `twin:` (desired → reported). Kept apart from
 * schema.ts so the fleet schema only names them; the runtime is src/sim/commands/, the checks commands-checks.ts.
 */

const qos = z.literal([0, 1, 2], 'qos must be 0, 1 or 2')

/** MQTT 5 PUBLISH properties as a scenario writes them (durations and words, not MQTT.js's raw numbers). */
export const publishPropertiesSchema = z
  .strictObject({
    userProperties: z
      .record(z.string().min(1, 'a user property needs a name'), template('lenient'))
      .optional()
      .meta({description: 'User properties (name: value template), e.g. {site: "{site}", schema: "telemetry/v2"}.'}),
    messageExpiry: duration({positive: true})
      .optional()
      .meta({description: 'Message expiry interval: the broker drops the message for subscribers that did not get it in time (whole seconds, rounded up).'}),
    contentType: z.string().min(1).optional().meta({description: 'Content type, e.g. application/json.'}),
    payloadFormat: z.enum(['utf8', 'bytes']).optional().meta({description: 'Payload format indicator: utf8 (the payload is UTF-8 text) or bytes.'}),
    topicAlias: z.boolean().optional().meta({description: 'Send the topic once per connection, then only a topic alias (within the broker\'s Topic Alias Maximum).'}),
    responseTopic: template().optional().meta({description: 'Response topic template (request/response: where an answer should go).'}),
    correlationData: template('lenient').optional().meta({description: 'Correlation data template (sent as bytes of its UTF-8 text).'}),
  })
  .meta({description: 'MQTT 5 publish properties (needs broker.protocol: 5).'})


const latencyObject = z
  .strictObject({
    min: duration().optional().meta({description: 'Uniform between min and max; with mean: the lower clip.'}),
    max: duration().optional().meta({description: 'Uniform between min and max; with mean: the upper clip.'}),
    mean: duration().optional().meta({description: 'Normal distribution mean (with stddev).'}),
    stddev: duration().optional().meta({description: 'Normal distribution standard deviation.'}),
  })
  .superRefine((l, ctx) => {
    if (l.mean === undefined && (l.min === undefined || l.max === undefined)) ctx.addIssue({code: 'custom', path: [], message: 'a latency object needs min and max (uniform) or mean and stddev (normal)'})
    if (l.mean !== undefined && l.stddev === undefined) ctx.addIssue({code: 'custom', path: ['stddev'], message: 'missing required key "stddev" (a normal latency needs mean and stddev)'})
    if (l.min !== undefined && l.max !== undefined && l.min > l.max) ctx.addIssue({code: 'custom', path: ['min'], message: 'min is greater than max'})
  })
  .transform((l): LatencySpec => (l.mean === undefined ? {kind: 'uniform', min: l.min ?? 0, max: l.max ?? 0} : {kind: 'normal', mean: l.mean, stddev: l.stddev ?? 0, min: l.min ?? 0, max: l.max ?? Number.POSITIVE_INFINITY}))

export const latencySchema = byShape(
  {
    string: duration().transform((ms): LatencySpec => ({kind: 'fixed', ms})),
    number: duration().transform((ms): LatencySpec => ({kind: 'fixed', ms})),
    object: latencyObject,
  },
  'a duration (100ms) or {min, max} / {mean, stddev}',
)

const replySchema = z
  .strictObject({
    topic: template()
      .optional()
      .meta({description: 'Reply topic template. An MQTT 5 request\'s own response topic is used first; without either there is no reply.'}),
    payload: template('lenient')
      .optional()
      .meta({description: 'Reply payload template: {status} (ok or failed), {command}, {topic}, {payload} (the request), device vars, the fields\' current values, {request.<key>} (from a JSON request). Default: {"status":"{status}","command":"{command}","deviceId":"{deviceId}"}.'}),
    qos: qos.optional(),
    properties: publishPropertiesSchema.optional(),
  })
  .transform((r) => ({...r, qos: r.qos ?? 0}))

const replyShapeSchema = byShape(
  {
    boolean: z.literal(true, 'false sends no reply, as leaving reply out does: remove it, or give true or a map such as {topic: "{deviceId}/ack"}'),
    object: replySchema,
  },
  'true (answer on the request\'s MQTT 5 response topic) or a map such as {topic: "{deviceId}/ack", payload: \'{"status":"{status}"}\'}',
)

const jsonValue = z.union([z.string(), z.number(), z.boolean(), z.null()])

const rebootSchema = byShape(
  {
    string: duration().transform((after) => ({after, will: false})),
    number: duration().transform((after) => ({after, will: false})),
    object: z
      .strictObject({
        after: duration().meta({description: 'How long the device stays away before it connects again.'}),
        will: z.boolean().optional().meta({description: 'true: drop the socket without DISCONNECT, so the broker publishes the last will.'}),
      })
      .transform((r) => ({after: r.after, will: r.will ?? false})),
  },
  'a duration (5s) or {after: 5s, will: true}',
)

const modeSchema = byShape(
  {
    string: z.string().min(1).transform((to) => ({to, for: undefined as number | undefined})),
    object: z.strictObject({
      to: z.string().min(1).meta({description: 'The mode (or "$.path" to take it from the request).'}),
      for: duration({positive: true}).optional().meta({description: 'How long the mode holds; then the mode the schedule or chain gives shows again.'}),
    }),
  },
  'a mode name, "$.path", or {to: mode, for: 10m}',
)

const anomalyActionSchema = z
  .strictObject({
    start: z.string().min(1).optional().meta({description: 'The anomaly to start (its name:, or anomaly-N), or "$.path" for a name from the request.'}),
    stop: z.string().min(1).optional().meta({description: 'The anomaly whose command-started occurrence ends now.'}),
  })
  .superRefine((a, ctx) => {
    if (a.start === undefined && a.stop === undefined) ctx.addIssue({code: 'custom', path: [], message: 'anomaly needs start or stop (an anomaly name, or "$.path")'})
  })

/** What a rule's keys take, where a value of another shape is a likely slip: said with an example, not zod's types. */
const topicFilterSchema = byShape({string: template()}, 'a topic filter such as "{deviceId}/cmd/+"')
const ruleTopicSchema = byShape(
  {string: template(), array: z.array(topicFilterSchema).min(1, 'topic needs at least one filter')},
  'a topic filter such as "{deviceId}/cmd/+", or a list of them',
)
const whenSchema = byShape({object: z.record(z.string(), jsonValue)}, 'a map of JSON path to value, such as {"$.cmd": "setpoint"}')
const releaseSchema = byShape({array: z.array(z.string())}, 'a list of fields, such as [setpoint]')
const anomalyShapeSchema = byShape({object: anomalyActionSchema}, 'a map such as {start: overheat} or {stop: overheat} (an anomaly the fleet declares)')

export const commandRuleSchema = z
  .strictObject({
    name: z.string().min(1).optional().meta({description: 'Name in replies ({command}) and messages (default command-N).'}),
    topic: ruleTopicSchema.meta({description: 'Topic filter template(s) the devices subscribe to, e.g. "{deviceId}/cmd/+" or "fleet/all/cmd" (a command to every device).'}),
    qos: qos.optional().meta({description: 'Subscription QoS (default 1).'}),
    when: whenSchema
      .optional()
      .meta({description: 'The rule applies only when every JSON path of the request equals its value, e.g. {"$.cmd": "setpoint"}.'}),
    set: byShape({object: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()]))}, 'a map of field to value, such as {setpoint: 21} or {setpoint: "$.value"} (from the request)')
      .optional()
      .meta({description: 'Fields to hold at a value: a literal, or a JSON path into the request ("$.value"). The generator keeps stepping underneath.'}),
    release: releaseSchema.optional().meta({description: 'Fields to give back to their generators (undoes set).'}),
    mode: modeSchema.optional().meta({description: 'Switch the device to this mode (or "$.path" to take it from the request); {to: eco, for: 10m} holds it that long.'}),
    anomaly: anomalyShapeSchema.optional().meta({description: 'Start or stop one of the fleet\'s declared anomalies on this device: {start: overheat}, {stop: overheat}, or a name from the request ({start: "$.anomaly"}).'}),
    reboot: rebootSchema.optional().meta({description: 'Disconnect after the reply and come back after this delay.'}),
    reply: replyShapeSchema.optional().meta({description: 'Answer: true (to the MQTT 5 response topic, default payload) or {topic, payload, qos, properties}.'}),
    latency: latencySchema.optional().meta({description: 'Delay between receiving the command and applying it (and replying). Default 0.'}),
    fail: fraction().optional().meta({description: 'Share of commands that fail: not applied, answered with status "failed".'}),
  })
  .transform((r): CommandRuleConfig => ({
    ...r,
    topics: typeof r.topic === 'string' ? [r.topic] : r.topic,
    mode: r.mode?.to,
    modeFor: r.mode?.for,
    qos: r.qos ?? 1,
    reply: r.reply === true ? {qos: 0 as const} : r.reply,
    latency: r.latency ?? ({kind: 'fixed', ms: 0} as LatencySpec),
    fail: r.fail ?? 0,
  }))

export const TWIN_STYLES = {
  /** AWS IoT device shadow topics: the service sends the delta, the device reports {"state": {"reported": ...}}. */
  aws: {desired: '$aws/things/{deviceId}/shadow/update/delta', reported: '$aws/things/{deviceId}/shadow/update', retain: false},
  /** A plain pair: desired is a JSON object of fields, reported the device's whole reported state, retained. */
  generic: {desired: '{deviceId}/twin/desired', reported: '{deviceId}/twin/reported', retain: true},
} as const

export const twinSchema = z
  .strictObject({
    style: z.enum(['aws', 'generic']).optional().meta({description: 'Topic and payload shape: generic (default) or aws (device shadow).'}),
    desired: template().optional().meta({description: 'Topic the device subscribes to for desired state (default by style).'}),
    reported: template().optional().meta({description: 'Topic the device publishes its reported state to (default by style).'}),
    fields: z.array(z.string()).min(1).optional().meta({description: 'Fields the twin may set (default: every field).'}),
    delay: latencySchema.optional().meta({description: 'Delay from desired to reported (and to the telemetry showing it). Default 0.'}),
    fail: fraction().optional().meta({description: 'Share of desired updates that are not applied (nothing reported).'}),
    qos: qos.optional().meta({description: 'QoS of the subscription and the reported message (default 1).'}),
    retain: z.boolean().optional().meta({description: 'Retain the reported state (default: true for generic, false for aws).'}),
  })
  .transform((t): TwinConfig => {
    const style = t.style ?? 'generic'
    const preset = TWIN_STYLES[style]
    return {
      style,
      desired: t.desired ?? preset.desired,
      reported: t.reported ?? preset.reported,
      fields: t.fields,
      delay: t.delay ?? ({kind: 'fixed', ms: 0} as LatencySpec),
      fail: t.fail ?? 0,
      qos: t.qos ?? 1,
      retain: t.retain ?? preset.retain,
    }
  })

/** The keys schema.ts adds to a fleet. */
export const fleetCommandKeys = {
  properties: publishPropertiesSchema.optional().meta({description: 'MQTT 5 properties of every telemetry message (needs broker.protocol: 5).'}),
  commands: byShape(
    {array: z.array(commandRuleSchema).min(1, 'commands needs at least one rule: leave commands out for devices that answer nothing')},
    'a list of rules, each an item such as - {topic: "{deviceId}/cmd", set: {setpoint: 21}}',
  )
    .optional()
    .meta({description: 'Commands the devices subscribe to and how they react (docs/scenario-reference.md, Commands).'}),
  twin: twinSchema.optional().meta({description: 'A device twin / shadow: desired state in, reported state out after a delay.'}),
  behavior: z
    .string()
    .regex(/\.(c|m)?js$/, 'behavior must name a JavaScript file (.js, .mjs or .cjs)')
    .optional()
    .meta({description: 'Your own JavaScript module (relative to the scenario file), run in the fleet workers: onStart, onTick, onMessage hooks over a small device API. It runs with iotd\'s rights.'}),
}
