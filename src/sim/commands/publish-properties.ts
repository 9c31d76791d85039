import type {IClientPublishOptions} from 'mqtt'
import {parseTemplate, renderTemplate, type Template} from '../../config/template.js'
import type {PublishPropertiesConfig} from './config.js'
import type {PublishProperties} from '../types.js'

/**
 * MQTT 5 publish properties of a scenario (`properties:` on a fleet or a reply): templates parsed once, rendered
 * per device (telemetry) or per reply, then turned into MQTT.js's property object when a message is sent.
 */

type Lookup = (name: string) => string | number | boolean | undefined

export interface CompiledProperties {
  render(lookup: Lookup): PublishProperties
}

export function compilePublishProperties(config: PublishPropertiesConfig): CompiledProperties {
  const user = Object.entries(config.userProperties ?? {}).map(([name, value]) => [name, parseTemplate(value, 'lenient')] as const)
  const responseTopic: Template | undefined = config.responseTopic === undefined ? undefined : parseTemplate(config.responseTopic)
  const correlation: Template | undefined = config.correlationData === undefined ? undefined : parseTemplate(config.correlationData, 'lenient')
  return {
    render(lookup) {
      const p: PublishProperties = {}
      if (user.length > 0) p.userProperties = Object.fromEntries(user.map(([name, t]) => [name, renderTemplate(t, lookup)]))
      // MQTT carries the expiry in whole seconds; rounding up keeps a message at least as long as asked.
      if (config.messageExpiry !== undefined) p.messageExpiryInterval = Math.ceil(config.messageExpiry / 1000)
      if (config.contentType !== undefined) p.contentType = config.contentType
      if (config.payloadFormat !== undefined) p.payloadFormatIndicator = config.payloadFormat === 'utf8'
      if (responseTopic) p.responseTopic = renderTemplate(responseTopic, lookup)
      if (correlation) p.correlationData = renderTemplate(correlation, lookup)
      if (config.topicAlias) p.topicAlias = true
      return p
    },
  }
}

export type MqttPublishProperties = NonNullable<IClientPublishOptions['properties']>

/** The properties as MQTT.js sends them; undefined when there are none to send. */
export function toMqttProperties(p: PublishProperties | undefined, correlationData?: Buffer): MqttPublishProperties | undefined {
  const out: MqttPublishProperties = {}
  if (p?.userProperties) out.userProperties = p.userProperties
  if (p?.messageExpiryInterval !== undefined) out.messageExpiryInterval = p.messageExpiryInterval
  if (p?.contentType !== undefined) out.contentType = p.contentType
  if (p?.payloadFormatIndicator !== undefined) out.payloadFormatIndicator = p.payloadFormatIndicator
  if (p?.responseTopic !== undefined) out.responseTopic = p.responseTopic
  const correlation = correlationData ?? (p?.correlationData === undefined ? undefined : Buffer.from(p.correlationData))
  if (correlation) out.correlationData = correlation
  return Object.keys(out).length > 0 ? out : undefined
}
