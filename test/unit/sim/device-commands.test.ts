import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {formatDryRun} from '../../../src/report/dry-run-text.js'
import {sampleFleets} from '../../../src/sim/dry-run.js'
import {DeviceCommands, FleetCommands, type DeviceHost} from '../../../src/sim/commands/device-commands.js'
import {firstCopy} from '../../../src/sim/fleet/fleet-worker.js'
import {compileJsonPath} from '../../../src/sim/commands/json-path.js'
import {filtersOverlap} from '../../../src/net/topic-filter.js'
import {createRng, type FieldValue} from '../../../src/sim/generators/index.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
import {emptyCounters, type PublishProperties} from '../../../src/sim/types.js'

/** A device's command runtime against a recording host and hand-driven timers: no broker, no clock. */

interface Sent {
  topic: string
  payload: string
  qos: number
  retain: boolean
  properties?: PublishProperties
  correlationData?: Buffer
}

function scenarioText(fleetExtra: string, protocol = '5'): string {
  return `
version: 1
seed: 3
broker: {protocol: "${protocol}"}
fleets:
  - name: zone
    count: 2
    topic: "b/{deviceId}/t"
    every: 1s
    mode:
      initial: comfort
      transitions: {comfort: {}, eco: {}}
    fields:
      setpoint: 21
      temp: {kind: gaussian, mean: 21, stddev: 0.1}
      status: ok
${fleetExtra}
`
}

function harness(fleetExtra: string) {
  const scenario = loadScenario('inline.yaml', {text: scenarioText(fleetExtra)})
  const fleet = scenario.fleets[0]
  const values = new Map<string, FieldValue>([['setpoint', 21], ['temp', 21], ['status', 'ok']])
  const held = new Map<string, FieldValue>()
  const modes = new Set(['comfort', 'eco'])
  let mode = 'comfort'
  let modeFor: number | undefined
  const anomalies: string[] = []
  const sent: Sent[] = []
  const reboots: Array<{after: number; will: boolean}> = []
  const timers: Array<{fn: () => void; ms: number; cancelled: boolean}> = []
  // The fake connection: 'up' (a publish reaches the broker at once), 'down' (nothing is sent) or 'held' (a publish
  // waits in `unsettled` for its acknowledgement or the loss of its connection).
  const link = {state: 'up' as 'up' | 'down' | 'held', unsettled: [] as Array<(reached: boolean) => void>}
  const host: DeviceHost = {
    deviceId: 'zone-0001',
    vars: {deviceId: 'zone-0001', fleet: 'zone', index: '1', number: '2'},
    hold: (f, v) => (values.has(f) ? (held.set(f, v), values.set(f, v), true) : false),
    release: (f) => void held.delete(f),
    setMode: (m, forMs) => (modes.has(m) ? ((mode = m), (modeFor = forMs), true) : false),
    startAnomaly: (name, command) => anomalies.push(`start ${name} by ${command}`) > 0,
    stopAnomaly: (name) => anomalies.push(`stop ${name}`) > 0,
    value: (f) => values.get(f),
    current: (f) => values.get(f),
    publish: (topic, payload, qos, retain, properties, correlationData, settled) => {
      if (link.state === 'down') return false
      sent.push({topic, payload, qos, retain, properties, correlationData})
      if (link.state === 'up') settled?.(true)
      else if (settled) link.unsettled.push(settled)
      return true
    },
    reboot: (after, will) => void reboots.push({after, will}),
    warn: () => {},
  }
  const counters = emptyCounters('zone')
  const commands = new DeviceCommands(new FleetCommands(fleet), host, counters, createRng([3, 'zone', 1, 'commands']), (fn, ms) => {
    const t = {fn, ms, cancelled: false}
    timers.push(t)
    return {cancel: () => (t.cancelled = true)}
  })
  const runTimers = () => {
    for (const t of timers.splice(0)) if (!t.cancelled) t.fn()
  }
  return {commands, counters, sent, held, reboots, timers, runTimers, mode: () => mode, modeFor: () => modeFor, anomalies, link}
}

describe('device commands', () => {
  it('subscribes to the rendered topic filters and the twin topic, once each', () => {
    const h = harness(`    commands:
      - {name: sp, topic: ["{deviceId}/cmd/+", "all/cmd"], set: {setpoint: "$.value"}}
      - {name: again, topic: "{deviceId}/cmd/+", qos: 2}
    twin: {style: aws}`)
    expect(h.commands.subscriptions()).toEqual([
      {topic: 'zone-0001/cmd/+', qos: 2},
      {topic: 'all/cmd', qos: 1},
      {topic: '$aws/things/zone-0001/shadow/update/delta', qos: 1},
    ])
  })

  it('holds a field from a JSON path after the drawn latency and answers the response topic with the correlation data', () => {
    const h = harness(`    commands:
      - name: setpoint
        topic: "{deviceId}/cmd/setpoint"
        set: {setpoint: "$.value"}
        latency: {min: 50ms, max: 150ms}
        reply: {payload: '{"status":"{status}","setpoint":{setpoint},"id":"{request.id}"}'}`)
    h.commands.receive('zone-0001/cmd/setpoint', Buffer.from('{"value": 23.5, "id": "r1"}'), {responseTopic: 'replies/x', correlationData: Buffer.from('c-1')})
    expect(h.held.size).toBe(0)
    expect(h.timers).toHaveLength(1)
    expect(h.timers[0].ms).toBeGreaterThanOrEqual(50)
    expect(h.timers[0].ms).toBeLessThanOrEqual(150)
    h.runTimers()
    expect(h.held.get('setpoint')).toBe(23.5)
    expect(h.sent).toHaveLength(1)
    expect(h.sent[0].topic).toBe('replies/x')
    expect(JSON.parse(h.sent[0].payload)).toEqual({status: 'ok', setpoint: 23.5, id: 'r1'})
    expect(h.sent[0].correlationData?.toString()).toBe('c-1')
    expect(h.counters).toMatchObject({commandsReceived: 1, commandsApplied: 1, commandsReplied: 1, commandsFailed: 0, commandsIgnored: 0})
  })

  it('matches rules by JSON path, first match wins, and counts what no rule matched', () => {
    const h = harness(`    commands:
      - {name: eco, topic: "{deviceId}/cmd", when: {"$.cmd": "mode", "$.args[0]": "eco"}, mode: eco}
      - {name: sp, topic: "{deviceId}/cmd", when: {"$.cmd": "setpoint"}, set: {setpoint: "$.value"}}`)
    h.commands.receive('zone-0001/cmd', Buffer.from('{"cmd":"mode","args":["eco"]}'))
    h.commands.receive('zone-0001/cmd', Buffer.from('{"cmd":"setpoint","value":"19"}'))
    h.commands.receive('zone-0001/cmd', Buffer.from('{"cmd":"dance"}'))
    h.commands.receive('zone-0001/cmd', Buffer.from('not json'))
    h.runTimers()
    expect(h.mode()).toBe('eco')
    expect(h.held.get('setpoint')).toBe(19)
    expect(h.counters).toMatchObject({commandsReceived: 4, commandsApplied: 2, commandsIgnored: 2, commandsFailed: 0})
  })

  it('what no rule takes goes to `otherwise` (a behaviour module), counted once by whoever takes it', () => {
    const h = harness(`    commands:
      - {name: sp, topic: "{deviceId}/cmd/#", when: {"$.cmd": "setpoint"}, set: {setpoint: "$.value"}}`)
    const toModule: string[] = []
    const module = (taken: boolean) => () => (toModule.push('called'), taken)
    h.commands.receive('zone-0001/cmd/x', Buffer.from('{"cmd":"setpoint","value":19}'), {}, module(true))
    h.commands.receive('zone-0001/cmd/x', Buffer.from('{"cmd":"dance"}'), {}, module(true))
    h.commands.receive('zone-0001/cmd/x', Buffer.from('{"cmd":"dance"}'), {}, module(false))
    h.runTimers()
    // The rule took the first (the module never saw it); the module took the second; nobody the third.
    expect(toModule).toEqual(['called', 'called'])
    expect(h.held.get('setpoint')).toBe(19)
    expect(h.counters).toMatchObject({commandsReceived: 2, commandsApplied: 1, commandsIgnored: 1})
  })

  it('of the copies an MQTT 5 broker sends for overlapping filters, firstCopy keeps the first matching filter\'s', () => {
    const filters = ['d/cmd/set', 'd/cmd/#', 'd/+/set']
    expect([1, 2, 3].map((id) => firstCopy(filters, 'd/cmd/set', id))).toEqual([true, false, false])
    expect([1, 2, 3].map((id) => firstCopy(filters, 'd/cmd/other', id))).toEqual([false, true, false])
    // One copy carrying every matching identifier, or no identifiers at all (MQTT 3.1.1): handled.
    expect(firstCopy(filters, 'd/cmd/set', [3, 1, 2])).toBe(true)
    expect(firstCopy(filters, 'd/cmd/set', undefined)).toBe(true)
    expect(firstCopy(undefined, 'd/cmd/set', 2)).toBe(true)
  })

  it('a value that does not fit fails the command, changes nothing, and the reply says failed', () => {
    const h = harness(`    commands:
      - {name: sp, topic: "{deviceId}/cmd", set: {setpoint: "$.value"}, mode: eco, reply: {topic: "{deviceId}/ack"}}`)
    h.commands.receive('zone-0001/cmd', Buffer.from('{"value":"warm"}'))
    h.commands.receive('zone-0001/cmd', Buffer.from('{}'))
    h.runTimers()
    expect(h.held.size).toBe(0)
    expect(h.mode()).toBe('comfort')
    expect(h.sent.map((s) => [s.topic, JSON.parse(s.payload).status])).toEqual([['zone-0001/ack', 'failed'], ['zone-0001/ack', 'failed']])
    expect(h.counters).toMatchObject({commandsReceived: 2, commandsApplied: 0, commandsFailed: 2, commandsReplied: 2})
  })

  it('starts and stops a declared anomaly by name or from the request; an undeclared name fails the whole command', () => {
    const h = harness(`    anomalies:
      - {name: overheat, field: temp, kind: out-of-range, magnitude: 5, duration: 1m}
      - {field: temp, kind: spike, devices: 1, probability: 0.01, magnitude: 3}
    commands:
      - {name: heat, topic: "{deviceId}/heat", anomaly: {start: overheat}}
      - {name: any, topic: "{deviceId}/anomaly", set: {setpoint: "$.sp"}, mode: {to: eco, for: 10m}, anomaly: {stop: "$.stop", start: "$.start"}, reply: {topic: "{deviceId}/ack"}}`)
    h.commands.receive('zone-0001/heat', Buffer.from(''))
    h.commands.receive('zone-0001/anomaly', Buffer.from('{"stop": "overheat", "start": "anomaly-2", "sp": 30}'))
    h.commands.receive('zone-0001/anomaly', Buffer.from('{"start": "overhaet", "sp": 99}'))
    h.commands.receive('zone-0001/anomaly', Buffer.from('{"start": 3, "sp": 98}'))
    h.runTimers()
    expect(h.anomalies).toEqual(['start overheat by heat', 'stop overheat', 'start anomaly-2 by any'])
    expect(h.modeFor()).toBe(600_000)
    expect(h.sent.map((s) => JSON.parse(s.payload).status)).toEqual(['ok', 'failed', 'failed'])
    expect(h.counters).toMatchObject({commandsReceived: 4, commandsApplied: 2, commandsFailed: 2, commandsReplied: 3})
    // The failed ones changed nothing: the setpoint is the one of the command that worked.
    expect(h.held.get('setpoint')).toBe(30)
  })

  it('fails the declared share of commands, seeded', () => {
    const h = harness(`    commands:
      - {topic: "{deviceId}/cmd", set: {setpoint: 18}, fail: 30%}`)
    for (let i = 0; i < 1000; i++) h.commands.receive('zone-0001/cmd', Buffer.from('{}'))
    h.runTimers()
    expect(h.counters.commandsApplied + h.counters.commandsFailed).toBe(1000)
    expect(h.counters.commandsFailed).toBeGreaterThan(240)
    expect(h.counters.commandsFailed).toBeLessThan(360)
  })

  it('reboots after applying, and a stop cancels what still waits (counted failed)', () => {
    const h = harness(`    lwt: {topic: "{deviceId}/state", payload: gone}
    commands:
      - {topic: "{deviceId}/reboot", reboot: {after: 5s, will: true}, latency: 10ms}`)
    h.commands.receive('zone-0001/reboot', Buffer.from(''))
    h.runTimers()
    expect(h.reboots).toEqual([{after: 5000, will: true}])
    h.commands.receive('zone-0001/reboot', Buffer.from(''))
    expect(h.commands.stop()).toBe(1)
    h.runTimers()
    expect(h.reboots).toHaveLength(1)
    expect(h.counters).toMatchObject({commandsReceived: 2, commandsApplied: 1, commandsFailed: 1})
  })

  it('a reply counts as replied once it reached the broker, as not sent when the device was down or its connection was given up', () => {
    const h = harness(`    commands:
      - {name: sp, topic: "{deviceId}/cmd", set: {setpoint: "$.value"}, reply: {topic: "{deviceId}/ack", qos: 1}}`)
    const command = (value: number) => {
      h.commands.receive('zone-0001/cmd', Buffer.from(JSON.stringify({value})))
      h.runTimers()
    }
    command(19)
    expect(h.counters).toMatchObject({commandsApplied: 1, commandsReplied: 1, commandsReplyLost: 0})
    // Written, not yet acknowledged: neither replied nor lost until it is known.
    h.link.state = 'held'
    command(20)
    command(21)
    expect(h.counters).toMatchObject({commandsApplied: 3, commandsReplied: 1, commandsReplyLost: 0})
    const [acked, givenUp] = h.link.unsettled
    acked(true)
    givenUp(false)
    expect(h.counters).toMatchObject({commandsReplied: 2, commandsReplyLost: 1})
    // Due while the device is down (rebooting, disconnected, the run stopping): nothing sent, counted at once.
    h.link.state = 'down'
    command(22)
    expect(h.sent).toHaveLength(3)
    expect(h.counters).toMatchObject({commandsReceived: 4, commandsApplied: 4, commandsReplied: 2, commandsReplyLost: 2})
  })

  it('twin: desired fields are held and reported after the delay, generic (whole state, retained) and aws', () => {
    const g = harness(`    twin: {fields: [setpoint, status], delay: 200ms}`)
    g.commands.receive('zone-0001/twin/desired', Buffer.from('{"setpoint": 22, "temp": 99}'))
    g.commands.receive('zone-0001/twin/desired', Buffer.from('{"status": "maintenance"}'))
    expect(g.timers.map((t) => t.ms)).toEqual([200, 200])
    g.runTimers()
    expect(g.held.get('setpoint')).toBe(22)
    expect(g.held.has('temp')).toBe(false)
    expect(g.sent.map((s) => [s.topic, JSON.parse(s.payload), s.retain])).toEqual([
      ['zone-0001/twin/reported', {setpoint: 22}, true],
      ['zone-0001/twin/reported', {setpoint: 22, status: 'maintenance'}, true],
    ])
    const a = harness(`    twin: {style: aws}`)
    a.commands.receive('$aws/things/zone-0001/shadow/update/delta', Buffer.from('{"version": 7, "state": {"setpoint": 20}}'))
    a.runTimers()
    expect(a.sent.map((s) => [s.topic, JSON.parse(s.payload)])).toEqual([['$aws/things/zone-0001/shadow/update', {state: {reported: {setpoint: 20}}}]])
    expect(a.counters).toMatchObject({commandsReceived: 1, commandsApplied: 1, commandsReplied: 1})
  })
})

describe('command JSON paths', () => {
  it('reads keys and indexes, and nothing else', () => {
    expect(compileJsonPath('$.a.b[1]')({a: {b: [1, 2]}})).toBe(2)
    expect(compileJsonPath('$')({x: 1})).toEqual({x: 1})
    expect(compileJsonPath('$.a[0]')({a: {0: 'x'}})).toBeUndefined()
    expect(compileJsonPath('$.a')('text')).toBeUndefined()
    expect(() => compileJsonPath('$..a')).toThrow(/not a JSON path/)
  })
})

describe('command checks', () => {
  const problems = (extra: string, protocol = '5') => {
    try {
      loadScenario('inline.yaml', {text: scenarioText(extra, protocol)})
      return ''
    } catch (error) {
      return (error as Error).message
    }
  }

  it('names unknown fields and modes with a did-you-mean, and places them', () => {
    const text = problems(`    commands:
      - {topic: "{deviceId}/cmd", set: {setpont: 1}, mode: ecco}`)
    expect(text).toMatch(/inline\.yaml:\d+:\d+: .*fleet zone has no field "setpont" \(did you mean "setpoint"\?\)/)
    expect(text).toMatch(/unknown mode "ecco" \(did you mean "eco"\?\)/)
  })

  it('refuses MQTT 5 properties and response-topic replies on MQTT 3.1.1', () => {
    const text = problems(`    properties: {messageExpiry: 60s}
    commands:
      - {topic: "{deviceId}/cmd", reply: true}`, '3.1.1')
    expect(text).toMatch(/MQTT 5 properties need broker\.protocol: 5/)
    expect(text).toMatch(/a reply without a topic goes to the request's MQTT 5 response topic/)
  })

  it('refuses an unknown placeholder in a command topic and a bad JSON path', () => {
    expect(problems(`    commands:
      - {topic: "{devceId}/cmd"}`)).toMatch(/inline\.yaml:\d+:\d+: .*devceId/)
    const text = problems(`    commands:
      - {topic: "{deviceId}/cmd", when: {"$..x": 1}}`)
    expect(text).toMatch(/"\$\.\.x" is not a JSON path such as \$\.cmd/)
  })

  it('points at the when: key that is no JSON path, not at its value, in block and flow form', () => {
    // It was placed at the value: column 19 of `          "$..x": 1`, the 1, which is right; the key is wrong.
    const where = (extra: string) => {
      const lines = scenarioText(extra).split('\n')
      const line = lines.findIndex((l) => l.includes('"$..x"'))
      return `inline.yaml:${line + 1}:${lines[line].indexOf('"$..x"') + 1}: fleets[0].commands[0].when.$..x: "$..x" is not a JSON path such as $.cmd`
    }
    const block = `    commands:
      - topic: "{deviceId}/cmd"
        when:
          "$.cmd": setpoint
          "$..x": 1`
    expect(problems(block)).toContain(where(block))
    const flow = `    commands:
      - {topic: "{deviceId}/cmd", when: {"$.cmd": setpoint, "$..x": 1}}`
    expect(problems(flow)).toContain(where(flow))
  })
})

describe('command rules that could not all be honoured', () => {
  const problems = (extra: string) => {
    try {
      loadScenario('inline.yaml', {text: scenarioText(extra)})
      return ''
    } catch (error) {
      return (error as Error).message
    }
  }

  // Before: both loaded; {command} named two rules alike, and the rule on the twin's topic never fired (counted failed).
  it('refuses two rules of one name, a written name meeting a default one included, at the later rule', () => {
    expect(problems(`    commands:
      - {name: a, topic: "{deviceId}/a"}
      - {name: a, topic: "{deviceId}/b"}`)).toMatch(/^inline\.yaml:19:16: fleets\[0\]\.commands\[1\]\.name: command name 'a' is used twice \(rules 1 and 2\)/)
    expect(problems(`    commands:
      - {topic: "{deviceId}/a"}
      - {name: command-1, topic: "{deviceId}/b"}`)).toMatch(/command name 'command-1' is used twice \(rules 1 and 2\)/)
    expect(problems(`    commands:
      - {name: a, topic: "{deviceId}/a"}
      - {name: b, topic: "{deviceId}/b"}`)).toBe('')
  })

  it('refuses a rule whose filter meets the twin\'s desired topic, at the twin, naming the rule', () => {
    const text = problems(`    commands:
      - {name: set, topic: "{deviceId}/cmd/set", set: {setpoint: "$.v"}}
      - {name: any, topic: ["x/{deviceId}", "{deviceId}/cmd/#"], set: {setpoint: "$.v"}}
      - {name: other, topic: "{deviceId}/cmd/+/x", set: {setpoint: "$.v"}}
    twin: {desired: "{deviceId}/cmd/set"}`)
    expect(text).toMatch(/^inline\.yaml:21:21: fleets\[0\]\.twin\.desired: the twin's desired topic "\{deviceId\}\/cmd\/set" overlaps the topic "\{deviceId\}\/cmd\/set" of command set \(rule 1\)/)
    expect(text).toMatch(/overlaps the topic "\{deviceId\}\/cmd\/#" of command any \(rule 2\)/)
    expect(text).not.toMatch(/command other/)
    // The default topic ({deviceId}/twin/desired) beside rules on {deviceId}/cmd/...: nothing to refuse.
    expect(problems(`    commands:
      - {name: set, topic: "{deviceId}/cmd/#", set: {setpoint: "$.v"}}
    twin: {}`)).toBe('')
  })

  it('refuses a behaviour module subscription that meets the twin\'s desired topic, once the module is loaded (lint and run)', () => {
    // Before: it loaded; the twin took every message on its topic and the module's onMessage never got one, unsaid.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-twin-module-'))
    try {
      writeFileSync(join(dir, 'answer.js'), 'module.exports = {subscribe: ["x/{deviceId}", "{deviceId}/cmd/#"], onMessage() {}}\n')
      const file = join(dir, 'inline.yaml')
      const load = (extra: string) => {
        try {
          loadScenario(file, {text: scenarioText(extra), loadBehaviors: true})
          return ''
        } catch (error) {
          return (error as Error).message
        }
      }
      const text = load(`    behavior: ./answer.js
    twin: {desired: "{deviceId}/cmd/set"}`)
      expect(text).toContain(
        `${file}:18:21: fleets[0].twin.desired: the twin's desired topic "{deviceId}/cmd/set" overlaps the subscription "{deviceId}/cmd/#" of behavior module ./answer.js: ` +
          "the twin would take those messages and the module's onMessage would never get them",
      )
      // The default twin topic ({deviceId}/twin/desired) beside the module's {deviceId}/cmd/#: nothing to refuse.
      expect(load(`    behavior: ./answer.js
    twin: {}`)).toBe('')
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('filters overlap when some topic matches both', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/b', 'a/b', true],
      ['a/b', 'a/c', false],
      ['a/+', 'a/b', true],
      ['a/#', 'a', true],
      ['a/#', 'b/#', false],
      ['+/b/c', 'a/+/c', true],
      ['a/b', 'a/b/c', false],
      ['#', '$aws/things/x', false],
      ['$aws/+', '$aws/x', true],
    ]
    for (const [a, b, overlap] of cases) {
      expect(filtersOverlap(a, b), `${a} ~ ${b}`).toBe(overlap)
      expect(filtersOverlap(b, a), `${b} ~ ${a}`).toBe(overlap)
    }
  })
})

describe('dry run of a fleet that answers', () => {
  it('shows the first device\'s subscriptions, its MQTT 5 properties and the behaviour module', () => {
    const s = loadScenario(join(import.meta.dirname, '../../../scenarios/hvac-commands.yaml'), {env: {}})
    const [zone, pump] = sampleFleets(s, 1, {startMs: Date.UTC(2026, 0, 5)})
    expect(zone.subscribes).toEqual(['bldg/zone-000/cmd/setpoint', 'bldg/zone-000/cmd/mode', 'bldg/all/cmd/mode', 'bldg/zone-000/cmd/reboot', '$aws/things/zone-000/shadow/update/delta'])
    expect(zone.properties).toMatchObject({userProperties: {floor: 'f1', schema: 'hvac-zone/v1'}, messageExpiryInterval: 300, contentType: 'application/json'})
    expect(pump.behavior).toBe(join(import.meta.dirname, '../../../scenarios/behaviors/pump.js'))
    const text = formatDryRun('hvac-commands', s.seed, [zone, pump])
    expect(text).toContain('  subscribes    bldg/zone-000/cmd/setpoint  bldg/zone-000/cmd/mode')
    expect(text).toMatch(/ {2}behavior +\/.*scenarios\/behaviors\/pump\.js \(your module; a dry run does not load it\)/)
  })
})
