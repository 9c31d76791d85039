/**
 * What a topic a device publishes to (telemetry, birth, death) or leaves as its will must look like. Brokers
 * refuse the PUBLISH or the whole CONNECT otherwise, so a scenario that breaks these rules would fail on every
 * message at run time; we reject it at load time instead, both for templates and for rendered topics.
 */

export interface TopicFault {
  /** 1-based column in the topic (or template) text of the offending character; 1 for an empty topic. */
  column: number
  /** What is wrong, phrased to follow the topic: `is empty`, `contains "+"`, `contains a NUL character`. */
  what: string
  /** Why MQTT forbids it. */
  why: string
}

/** An MQTT topic's length field is two bytes. */
const MAX_TOPIC_BYTES = 65_535

const WILDCARD_WHY = 'wildcards (+, #) are for subscribing; a device cannot publish to them'

/**
 * The first rule a topic breaks, if any. Also right for templates: placeholders are identifiers, so any `+`, `#`
 * or NUL in a template is literal text that every rendered topic will contain.
 */
export function findTopicFault(topic: string): TopicFault | undefined {
  if (topic === '') return {column: 1, what: 'is empty', why: 'MQTT topics need at least one character'}
  if (topic.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES) return {column: 1, what: `is ${Buffer.byteLength(topic, 'utf8')} bytes long`, why: `MQTT topics are at most ${MAX_TOPIC_BYTES} bytes (UTF-8)`}
  for (let i = 0; i < topic.length; i++) {
    const ch = topic[i]
    if (ch === '+' || ch === '#') return {column: i + 1, what: `contains "${ch}"`, why: WILDCARD_WHY}
    if (ch === '\0') return {column: i + 1, what: 'contains a NUL character', why: 'MQTT forbids NUL in topics'}
  }
  return undefined
}

/**
 * Whether `topic` may be published to: findTopicFault(topic) === undefined, without building the fault. By index
 * rather than a loop or a regex, and the byte length only for a topic long enough to exceed it: the mqtt sink asks
 * it for every topic it renders.
 */
export function isTopicName(topic: string): boolean {
  return (
    topic !== '' &&
    topic.indexOf('+') < 0 &&
    topic.indexOf('#') < 0 &&
    topic.indexOf('\0') < 0 &&
    (topic.length <= MAX_TOPIC_BYTES / 3 || Buffer.byteLength(topic, 'utf8') <= MAX_TOPIC_BYTES)
  )
}

/**
 * The first rule a topic filter (what a device subscribes to) breaks, if any: not empty, `+` alone in its level,
 * `#` alone in the last level, no NUL. The broker refuses the whole SUBSCRIBE otherwise (mosquitto also closes the
 * connection for an empty one), so every connect of every device would fail the same way. Column as in findTopicFault.
 */
export function findFilterFault(filter: string): TopicFault | undefined {
  if (filter === '') return {column: 1, what: 'is empty', why: 'an MQTT topic filter needs at least one character'}
  if (filter.length > MAX_TOPIC_BYTES / 3 && Buffer.byteLength(filter, 'utf8') > MAX_TOPIC_BYTES) return {column: 1, what: `is ${Buffer.byteLength(filter, 'utf8')} bytes long`, why: `MQTT topic filters are at most ${MAX_TOPIC_BYTES} bytes (UTF-8)`}
  for (let i = 0; i < filter.length; i++) {
    const ch = filter[i]
    const levelStart = i === 0 || filter[i - 1] === '/'
    const levelEnd = i === filter.length - 1 || filter[i + 1] === '/'
    if (ch === '+' && !(levelStart && levelEnd)) return {column: i + 1, what: 'has "+" inside a level', why: '+ must stand alone between slashes (a/+/b)'}
    if (ch === '#' && !(levelStart && i === filter.length - 1)) return {column: i + 1, what: 'has "#" before its end', why: '# must be the whole last level (a/b/#)'}
    if (ch === '\0') return {column: i + 1, what: 'contains a NUL character', why: 'MQTT forbids NUL in topics'}
  }
  return undefined
}
