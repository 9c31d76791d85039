import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import type {ConfigError} from '../../../src/errors.js'
import {DeviceBehavior, type BehaviorModule} from '../../../src/sim/commands/behavior.js'
import type {DeviceHost} from '../../../src/sim/commands/device-commands.js'
import type {FieldValue} from '../../../src/sim/generators/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {findFilterFault, findTopicFault} from '../../../src/net/topic-rules.js'
import {emptyCounters} from '../../../src/sim/types.js'

/** A device with fields rpm (number), state (text) and on (true/false), and what a module made it do. */
function harness(mod: BehaviorModule) {
  const values = new Map<string, FieldValue>([['rpm', 1450], ['state', 'running'], ['on', true]])
  const sent: Array<{topic: string; payload: string; qos: number}> = []
  const warnings: string[] = []
  const host: DeviceHost = {
    deviceId: 'pump-0000',
    vars: {deviceId: 'pump-0000', fleet: 'pump', index: '0', number: '1'},
    hold: (f, v) => (values.has(f) ? (values.set(f, v), true) : false),
    release: () => {},
    setMode: () => false,
    startAnomaly: () => false,
    stopAnomaly: () => false,
    value: (f) => values.get(f),
    current: (f) => values.get(f),
    publish: (topic, payload, qos) => (sent.push({topic, payload, qos}), true),
    reboot: () => {},
    warn: (message) => void warnings.push(message),
  }
  const counters = emptyCounters('pump')
  return {behavior: new DeviceBehavior(mod, host, counters), values, sent, warnings, counters}
}

describe("a behaviour module's device.set takes what a command's set takes", () => {
  it('text that is no number, into a number field, is refused as a command would fail it: counted and said, nothing held', () => {
    // It published {"rpm":"fast"}, where a command's set of the same text failed.
    const h = harness({onTick: (d) => d.set('rpm', 'fast')})
    h.behavior.tick()
    expect(h.values.get('rpm')).toBe(1450)
    expect(h.counters.errors).toBe(1)
    expect(h.warnings).toEqual(['behavior: device.set: field rpm is a number, but "fast" is not one'])
  })

  it('a number as text becomes the number, as a command makes it; text and true/false fields take theirs', () => {
    const h = harness({onTick: (d) => (d.set('rpm', '21.5'), d.set('state', 'tripped'), d.set('on', false))})
    h.behavior.tick()
    expect([h.values.get('rpm'), h.values.get('state'), h.values.get('on')]).toEqual([21.5, 'tripped', false])
    expect(h.counters.errors).toBe(0)
  })

  it('no such field, an object, undefined, NaN: refused with what was wrong', () => {
    const tries: Array<[string, unknown, string]> = [
      ['rpmm', 5, 'device.set: no field "rpmm"'],
      ['rpm', {v: 1}, 'device.set: field rpm takes a number, text or true/false, not an object'],
      ['rpm', undefined, 'device.set: field rpm takes a number, text or true/false, not undefined'],
      ['rpm', Number.NaN, 'device.set: field rpm is a number, but number NaN is not one'],
    ]
    for (const [field, value, said] of tries) {
      const h = harness({onTick: (d) => d.set(field, value as FieldValue)})
      h.behavior.tick()
      expect(h.warnings).toEqual([`behavior: ${said}`])
      expect(h.values.get('rpm')).toBe(1450)
    }
  })
})

describe("a behaviour module's device.publish refuses a topic the broker would close the connection for", () => {
  it('wildcards, an empty topic, NUL, a topic past 65535 bytes: nothing sent, a counted error said once', () => {
    // 'bad/#/topic' went to the broker, which closed the device's connection (ECONNRESET, a reconnect).
    const cases: Array<[string, string]> = [
      ['bad/#/topic', 'topic "bad/#/topic" contains "#" at column 5: wildcards (+, #) are for subscribing; a device cannot publish to them'],
      ['a/+', 'topic "a/+" contains "+" at column 3: wildcards (+, #) are for subscribing; a device cannot publish to them'],
      ['', 'topic "" is empty: MQTT topics need at least one character'],
      ['a\u0000b', 'topic "a\\u0000b" contains a NUL character at column 2: MQTT forbids NUL in topics'],
      ['x'.repeat(65_536), `topic "${'x'.repeat(80)}..." is 65536 bytes long: MQTT topics are at most 65535 bytes (UTF-8)`],
    ]
    for (const [topic, said] of cases) {
      const h = harness({onTick: (d) => void d.publish(topic, {x: 1})})
      h.behavior.tick()
      h.behavior.tick()
      expect(h.sent).toEqual([])
      expect(h.counters.errors).toBe(2)
      // The worker says each distinct message once (warnOnce): the same text both times.
      expect(new Set(h.warnings)).toEqual(new Set([`behavior: device.publish: ${said}; nothing was sent`]))
    }
  })

  it('a good topic is sent, an object as JSON; a qos that is none of 0, 1, 2 and a payload JSON cannot write are refused', () => {
    const h = harness({onTick: (d) => void d.publish('pump-0000/events', {x: 1}, {qos: 1})})
    h.behavior.tick()
    expect(h.sent).toEqual([{topic: 'pump-0000/events', payload: '{"x":1}', qos: 1}])
    const q = harness({onTick: (d) => void d.publish('a', 'b', {qos: 3 as 1})})
    q.behavior.tick()
    expect(q.warnings).toEqual(['behavior: device.publish: qos number 3 is none of 0, 1, 2; nothing was sent'])
    const u = harness({onTick: (d) => void d.publish('a', undefined as unknown as string)})
    u.behavior.tick()
    expect(u.warnings).toEqual(['behavior: device.publish: the payload must be text or a value JSON can write, not undefined; nothing was sent'])
    expect([...q.sent, ...u.sent]).toEqual([])
  })

  it('a topic past 65535 bytes is refused by the topic and filter rules a scenario is checked by', () => {
    expect(findTopicFault('é'.repeat(32_768))?.what).toBe('is 65536 bytes long')
    expect(findTopicFault('é'.repeat(32_767))).toBeUndefined()
    expect(findFilterFault(`${'x'.repeat(65_535)}/#`)?.what).toBe('is 65537 bytes long')
  })
})

describe("a behaviour module's subscribe filters, checked when it is loaded (sim lint, a live run)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-behavior-subscribe-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  const scenario = 'version: 1\nname: m\nfleets:\n  - name: pump\n    count: 2\n    topic: "p/{deviceId}"\n    every: 1s\n    vars: {site: north}\n    behavior: ./mod.cjs\n    fields: {rpm: 1450}\n'
  const lint = (module: string) => {
    writeFileSync(join(dir, 'mod.cjs'), module)
    try {
      loadScenario(join(dir, 'm.yaml'), {text: scenario, env: {}, loadBehaviors: true})
    } catch (error) {
      return (error as ConfigError).problems.map((p) => `${p.line}:${p.col} ${p.message}`)
    }
    return []
  }

  it('a misspelt placeholder gets a did-you-mean and a filter MQTT forbids is named, at the module\'s line:col', () => {
    // Lint passed both; the run subscribed "{deviceid}/cmd/#" literally and the broker refused "a/#/b".
    const mod = join(dir, 'mod.cjs')
    expect(lint('module.exports = {\n  onMessage() {},\n  subscribe: ["{deviceid}/cmd/#", \'a/#/b\'],\n}\n')).toEqual([
      `9:15 fleets[0].behavior: ${mod}:3:16: behavior module's subscribe[0]: unknown placeholder {deviceid} in "{deviceid}/cmd/#" (did you mean {deviceId}?) (known: {fleet} {index} {number} {deviceId} {site})`,
      `9:15 fleets[0].behavior: ${mod}:3:38: behavior module's subscribe[1]: topic filter "a/#/b" has "#" before its end at column 3: # must be the whole last level (a/b/#)`,
    ])
  })

  it('a filter built by code is named by its place in the list; a malformed placeholder and an empty filter are refused', () => {
    const mod = join(dir, 'mod.cjs')
    expect(lint('const s = "cmd"\nmodule.exports = {onMessage() {}, subscribe: [`{deviceId}/${s}/+x`, "{site/a", ""]}\n')).toEqual([
      `9:15 fleets[0].behavior: ${mod}: behavior module's subscribe[0]: topic filter "{deviceId}/cmd/+x" has "+" inside a level at column 16: + must stand alone between slashes (a/+/b)`,
      `9:15 fleets[0].behavior: ${mod}:2:70: behavior module's subscribe[1]: topic filter "{site/a": unbalanced "{" at column 1 (missing "}")`,
      `9:15 fleets[0].behavior: ${mod}:2:81: behavior module's subscribe[2]: topic filter is empty: an MQTT topic filter needs at least one character`,
    ])
  })

  it('filters with the device\'s placeholders and vars pass', () => {
    expect(lint('module.exports = {onMessage() {}, subscribe: ["{deviceId}/cmd/#", "{site}/+/all", "broadcast"]}\n')).toEqual([])
  })
})
