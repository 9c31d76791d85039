/**
 * QoS 0 PUBLISH packets encoded back to back into one Buffer, for one socket write of many messages.
 *
 * Why not MQTT.js's publish(): for a QoS 0 message it keeps no state, yet it spends most of a replay's CPU on the
 * way to the socket (options handling, a packet object, mqtt-packet writing the header, topic and payload as
 * separate stream writes, its debug logger). Measured here, a --max-speed replay of 1,000,000 rows: 84–124k msg/s
 * through MQTT.js, 215–260k with the packets built here (perf/RESULTS.md). The packets are byte for byte what mqtt-packet
 * generates (test/unit/net/qos0-publish.test.ts compares them), so they may share a connection with MQTT.js:
 * both write whole packets on the one JavaScript thread, never interleaved.
 *
 * MQTT 5 packets carry an empty property list; a message with properties goes through MQTT.js instead.
 *
 * Users: the mqtt sink (replay, pipelines) and the sim's fleet workers (QoS 0 telemetry, perf/RESULTS.md).
 */
import {remainingLengthSize, writeRemainingLength} from './mqtt-wire.js'

export interface Qos0Message {
  topic: string
  /** Bytes, or text written as UTF-8 (what MQTT.js sends for a string payload): no Buffer made per message. */
  payload: Buffer | string
  retain: boolean
}

function payloadBytes(payload: Buffer | string): number {
  return typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length
}

/** Bytes of the encoded packet (fixed header included). */
function packetBytes(topicBytes: number, payloadBytes: number, v5: boolean): number {
  const remaining = 2 + topicBytes + (v5 ? 1 : 0) + payloadBytes
  return 1 + remainingLengthSize(remaining) + remaining
}

/**
 * Encodes `messages[from..to)` as QoS 0 PUBLISH packets for MQTT 3.1.1 (4) or 5 into a new Buffer of exactly
 * their size. Throws a RangeError for a packet over MQTT's size limit or a topic over 65,535 bytes.
 */
export function encodeQos0Publishes(messages: readonly Qos0Message[], from: number, to: number, protocolVersion: 4 | 5): Buffer {
  const v5 = protocolVersion === 5
  const topicBytes = new Array<number>(to - from)
  const bodyBytes = new Array<number>(to - from)
  let total = 0
  for (let i = from; i < to; i++) {
    const m = messages[i]
    const t = Buffer.byteLength(m.topic)
    if (t > 0xffff) throw new RangeError(`MQTT topic longer than 65,535 bytes (${t})`)
    const p = payloadBytes(m.payload)
    topicBytes[i - from] = t
    bodyBytes[i - from] = p
    total += packetBytes(t, p, v5)
  }
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (let i = from; i < to; i++) {
    const m = messages[i]
    const t = topicBytes[i - from]
    const p = bodyBytes[i - from]
    out[at++] = m.retain ? 0x31 : 0x30
    at += writeRemainingLength(out, at, 2 + t + (v5 ? 1 : 0) + p)
    out[at++] = t >> 8
    out[at++] = t & 0xff
    at += out.write(m.topic, at, t, 'utf8')
    if (v5) out[at++] = 0
    at += typeof m.payload === 'string' ? out.write(m.payload, at, p, 'utf8') : m.payload.copy(out, at)
  }
  return out
}
