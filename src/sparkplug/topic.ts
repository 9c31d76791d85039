/**
 * Sparkplug B topics: `spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]` and the primary host's
 * `spBv1.0/STATE/<host_id>`.
 */

export const NAMESPACE = 'spBv1.0'

export const MESSAGE_TYPES = ['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA', 'DDATA', 'NCMD', 'DCMD'] as const
export type MessageType = (typeof MESSAGE_TYPES)[number]

export type SparkplugTopic =
  | {kind: 'message'; group: string; type: MessageType; node: string; device?: string}
  | {kind: 'state'; host: string}

const DEVICE_TYPES = new Set<string>(['DBIRTH', 'DDEATH', 'DDATA', 'DCMD'])

/** The topic's parts, or undefined when it is not a Sparkplug B topic. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | undefined {
  if (!topic.startsWith(`${NAMESPACE}/`)) return undefined
  const parts = topic.split('/')
  if (parts[1] === 'STATE') return parts.length === 3 && parts[2] !== '' ? {kind: 'state', host: parts[2]} : undefined
  if (parts.length < 4 || parts.length > 5) return undefined
  const [, group, type, node, device] = parts
  if (!(MESSAGE_TYPES as readonly string[]).includes(type) || group === '' || node === '') return undefined
  const isDevice = DEVICE_TYPES.has(type)
  if (isDevice !== (parts.length === 5) || device === '') return undefined
  return isDevice ? {kind: 'message', group, type: type as MessageType, node, device} : {kind: 'message', group, type: type as MessageType, node}
}

export function sparkplugTopic(group: string, type: MessageType, node: string, device?: string): string {
  return device === undefined ? `${NAMESPACE}/${group}/${type}/${node}` : `${NAMESPACE}/${group}/${type}/${node}/${device}`
}

export function stateTopic(host: string): string {
  return `${NAMESPACE}/STATE/${host}`
}

/** The STATE payload of Sparkplug 3.0: JSON `{"online": bool, "timestamp": ms}`. */
export function parseStatePayload(bytes: Uint8Array): {online: boolean; timestamp?: number} | undefined {
  try {
    const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as {online?: unknown; timestamp?: unknown}
    if (typeof v?.online !== 'boolean') return undefined
    return {online: v.online, timestamp: typeof v.timestamp === 'number' ? v.timestamp : undefined}
  } catch {
    return undefined
  }
}

/** A Sparkplug id (group, edge node, device) may not hold the MQTT wildcards or the topic separator. */
export function sparkplugIdProblem(id: string): string | undefined {
  if (id === '') return 'is empty'
  if (/[/+#]/.test(id)) return `"${id}" holds one of / + # (not allowed in Sparkplug ids)`
  return undefined
}
