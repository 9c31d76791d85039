import mqttPacket from 'mqtt-packet'
import {describe, expect, it} from 'vitest'
import {encodeQos0Publishes, type Qos0Message} from '../../../src/net/qos0-publish.js'

/** What mqtt-packet (MQTT.js's encoder) makes of the same message. */
function reference(m: Qos0Message, protocolVersion: 4 | 5): Buffer {
  return mqttPacket.generate({cmd: 'publish', topic: m.topic, payload: m.payload, qos: 0, retain: m.retain, dup: false, ...(protocolVersion === 5 ? {properties: {}} : {})}, {protocolVersion})
}

describe('encodeQos0Publishes', () => {
  // Remaining Length crosses its 1/2/3-byte boundaries (127/128, 16,383/16,384) around these payload sizes.
  const sizes = [0, 1, 120, 121, 122, 16_375, 16_376, 16_377, 70_000]
  const messages: Qos0Message[] = sizes.map((n, i) => ({topic: i % 2 ? 'plant/línea-1/温度' : 'a', payload: Buffer.alloc(n, i), retain: i % 3 === 0}))

  for (const version of [4, 5] as const) {
    it(`matches mqtt-packet byte for byte, MQTT ${version === 4 ? '3.1.1' : '5'}, across Remaining Length sizes`, () => {
      const out = encodeQos0Publishes(messages, 0, messages.length, version)
      const expected = Buffer.concat(messages.map((m) => reference(m, version)))
      expect(out.length).toBe(expected.length)
      // Buffer.compare, not toEqual: a deep comparison of 100 kB byte by byte takes the better part of a second.
      expect(Buffer.compare(out, expected)).toBe(0)
    })
  }

  it('text payloads are written as UTF-8, as MQTT.js sends a string payload', () => {
    const texts: Qos0Message[] = ['', '{"v":1}', 'temp=21.5 °C, Füllstand 温度', 'x'.repeat(200)].map((payload, i) => ({topic: `sim/dev-${i}`, payload, retain: i === 1}))
    for (const version of [4, 5] as const) {
      const expected = Buffer.concat(texts.map((m) => reference(m, version)))
      expect(Buffer.compare(encodeQos0Publishes(texts, 0, texts.length, version), expected)).toBe(0)
    }
  })

  it('encodes only the range asked for', () => {
    expect(encodeQos0Publishes(messages, 2, 4, 4)).toEqual(Buffer.concat([reference(messages[2], 4), reference(messages[3], 4)]))
    expect(encodeQos0Publishes(messages, 3, 3, 4)).toHaveLength(0)
  })

  it('parses back into the same messages', () => {
    const parser = mqttPacket.parser({protocolVersion: 5})
    const seen: Array<{topic: string; payload: Buffer; retain: boolean; qos: number}> = []
    parser.on('packet', (packet) => {
      const p = packet as mqttPacket.IPublishPacket
      seen.push({topic: p.topic, payload: Buffer.from(p.payload), retain: p.retain, qos: p.qos})
    })
    parser.parse(encodeQos0Publishes(messages, 0, messages.length, 5))
    expect(seen.map((m) => ({...m, payload: m.payload.toString('hex')}))).toEqual(messages.map((m) => ({...m, payload: Buffer.from(m.payload).toString('hex'), qos: 0})))
  })

  it('refuses a topic longer than MQTT allows', () => {
    expect(() => encodeQos0Publishes([{topic: 'x'.repeat(65_536), payload: Buffer.alloc(0), retain: false}], 0, 1, 4)).toThrow(/65,535 bytes/)
  })
})
