import {describe, expect, it} from 'vitest'
import type {ConfigProblem} from '../../../src/errors.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'
import {SimulatedStreams} from '../../../src/sim/simulated-streams.js'
import {scenarioProblems} from '../../helpers/scenario-problems.js'

// #13 item 3 (in part): no raw "Invalid discriminator value"; an unset ${env:VAR} is a warning for lint.
const SCENARIO = (fields: string, broker = '') =>
  `version: 1\nname: m\n${broker}fleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    fields:\n${fields}`

describe('scenario problems a person can act on', () => {
  it('a misspelt kind gets a did-you-mean, a missing one "add `kind:`", both where they are', () => {
    const got = scenarioProblems(SCENARIO('      t: {kind: walkk, mean: 1}\n      u: {constant: 1}\n'))
    expect(got).toHaveLength(2)
    expect(got[0]).toMatch(/^9:17 fleets\[0\]\.fields\.t: unknown kind "walkk"; did you mean walk\? \(one of constant, .*\)$/)
    expect(got[1]).toMatch(/^10:7 fleets\[0\]\.fields\.u: add `kind:` \(one of constant, .*\)$/)
    expect(got.join('\n')).not.toContain('Invalid discriminator')
  })

  it("a misspelt generator argument is one problem with a did-you-mean from its kind's own keys, not also a missing one", () => {
    // The kinds are a union: the keys of the kind the field names (walk, gaussian) give the did-you-mean.
    const got = scenarioProblems(SCENARIO('      x: {kind: walk, mean: 1, theta: 0.1, sigmaa: 0.2}\n      y: {kind: gaussian, mean: 1, stdev: 0.2}\n'))
    expect(got).toEqual(['9:44 unknown key "sigmaa" in fleets[0].fields.x; did you mean "sigma"?', '10:36 unknown key "stdev" in fleets[0].fields.y; did you mean "stddev"?'])
    // A key that is simply missing is still reported as missing.
    expect(scenarioProblems(SCENARIO('      x: {kind: walk, mean: 1, theta: 0.1}\n'))).toEqual(['9:7 missing required key "sigma" in fleets[0].fields.x'])
  })

  it('schema problems say that the checks across keys come once they are fixed; problems found past the schema do not', () => {
    const schemaFirst = () => loadScenario('m.yaml', {text: SCENARIO('      x: {kind: walk, mean: 1, theta: 0.1, sigmaa: 0.2}\n')})
    expect(schemaFirst).toThrow(expect.objectContaining({suggestions: [expect.stringMatching(/^fix these first: the checks that compare keys with each other \(min <= max, jitter against every, topics, duplicates\) run on/)]}))
    // Past the schema (a jitter against every): every problem there is found in the one pass, no note.
    const later = () => loadScenario('m.yaml', {text: SCENARIO('      t: {kind: timestamp}\n').replace('every: 1s', 'every: 1s\n    jitter: 900ms')})
    expect(later).toThrow(/jitter/)
    expect(later).toThrow(expect.objectContaining({suggestions: []}))
  })

  it('a value outside a list the schema words itself (payload: jsn) gets the close option too', () => {
    const text = `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    payload: jsn\n    fields: {v: 1}\n`
    expect(scenarioProblems(text)).toEqual(['8:14 fleets[0].payload: payload must be json, csv or an object with format (json, csv, raw); did you mean json?'])
  })

  it('--fleet naming no fleet gets a did-you-mean', () => {
    const scenario = loadScenario('m.yaml', {text: SCENARIO('      t: {kind: timestamp}\n')})
    expect(() => expandDevices(scenario, {fleets: ['zzzz', 'aa']})).toThrow('unknown fleet "zzzz", "aa" (did you mean a?)')
  })

  it('an unset ${env:VAR} fails a load, and is only reported (read as empty) when the caller asks for warnings', () => {
    const text = SCENARIO('      t: {kind: timestamp}\n', 'broker:\n  password: ${env:LOUD_UNSET}\n')
    expect(scenarioProblems(text)).toEqual(['4:13 environment variable LOUD_UNSET is not set (referenced as ${env:LOUD_UNSET})'])
    const warned: ConfigProblem[] = []
    const scenario = loadScenario('m.yaml', {text, env: {}, onUnsetEnv: (p) => warned.push(p)})
    expect(scenario.fleets).toHaveLength(1)
    expect(warned.map((p) => `${p.line}:${p.col}`)).toEqual(['4:13'])
  })

  it('a command topic filter the broker would refuse is a problem at its position: empty, + or # inside a level, or a var that renders one', () => {
    const commands = (topics: string) =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: 2\n    topic: "x/{deviceId}"\n    every: 1s\n    vars: {site: {cycle: [ok, "a#b"]}}\n    fields: {sp: 1}\n    commands:\n${topics}`
    expect(scenarioProblems(commands('      - {topic: "", set: {sp: 2}}\n'))).toEqual(['11:17 fleets[0].commands[0].topic: topic filter is empty: an MQTT topic filter needs at least one character'])
    expect(scenarioProblems(commands('      - {topic: "c/+x/cmd", set: {sp: 2}}\n'))).toEqual([
      '11:20 fleets[0].commands[0].topic: topic filter "c/+x/cmd" has "+" inside a level at column 3: + must stand alone between slashes (a/+/b)',
    ])
    expect(scenarioProblems(commands('      - {topic: ["c/{deviceId}/+", "a/#/b"], set: {sp: 2}}\n'))).toEqual([
      '11:39 fleets[0].commands[0].topic[1]: topic filter "a/#/b" has "#" before its end at column 3: # must be the whole last level (a/b/#)',
    ])
    expect(scenarioProblems(commands('      - {topic: "c/{site}/cmd", set: {sp: 2}}\n'))).toEqual([
      '11:20 fleets[0].commands[0].topic: command topic of device a-0001 renders as "c/a#b/cmd", which has "#" before its end (from {site}): # must be the whole last level (a/b/#)',
    ])
    // What brokers take: + alone in any level, # as the whole last one.
    expect(scenarioProblems(commands('      - {topic: ["+/{deviceId}/+/cmd", "#", "c/{deviceId}/#"], set: {sp: 2}}\n'))).toEqual([])
  })
  it('a badly formed schedule time is a problem at its key, and a misspelt day gets a did-you-mean at `days`', () => {
    const schedule = (entry: string) =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    timezone: Europe/Berlin\n    mode:\n      initial: eco\n      schedule:\n        - ${entry}\n    fields: {t: 1}\n`
    // Each of these crashed the loader ("Cannot read properties of null") except 24:30.
    for (const bad of ['25:00', '1:00', 'ab:cd', '12:60', '12', '24:00:00', '24:30']) {
      expect(scenarioProblems(schedule(`{days: sat, from: "08:00", to: "${bad}", mode: comfort}`))).toEqual([
        '12:42 fleets[0].mode.schedule[0].to: a time of day is HH:MM, 00:00 to 24:00',
      ])
    }
    expect(scenarioProblems(schedule('{days: sat, from: "8:00", mode: comfort}'))).toEqual(['12:29 fleets[0].mode.schedule[0].from: a time of day is HH:MM, 00:00 to 24:00'])
    expect(scenarioProblems(schedule('{days: wekdays, from: "08:00", mode: comfort}'))).toEqual([
      '12:18 fleets[0].mode.schedule[0].days: "wekdays" is not a day; did you mean weekdays? (mon, tue, wed, thu, fri, sat, sun; a range such as mon-fri; weekdays, weekend or daily)',
    ])
    expect(scenarioProblems(schedule('{days: [mon, sat-sunn], from: "08:00", mode: comfort}'))[0]).toMatch(/^12:12 fleets\[0\]\.mode\.schedule\[0\]\.days: "sat-sunn" is not a day; did you mean sat-sun\? /)
    expect(scenarioProblems(schedule('{from: "08:00", to: "08:00", mode: comfort}'))).toEqual(['12:31 fleets[0].mode.schedule[0].to: from and to are both 08:00: the window is empty'])
    expect(scenarioProblems(schedule('{from: "25:00", to: "25:00", mode: comfort}'))).toHaveLength(2)
    expect(scenarioProblems(schedule('{days: mon-fri, from: "08:00", to: "24:00", mode: comfort}'))).toEqual([])
  })
  it('an anomaly asking for more devices than its fleet has is a problem at `devices`; a share stays legal', () => {
    const anomaly = (devices: string) =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: 20\n    topic: "x/{deviceId}"\n    every: 1s\n    fields: {temperature: 20}\n    anomalies:\n      - {field: temperature, kind: stuck, devices: ${devices}, probability: 0.01}\n`
    // It loaded and selected 20 of 20.
    expect(scenarioProblems(anomaly('25'))).toEqual(["10:52 fleets[0].anomalies[0].devices: 25 is more than fleet a's 20 devices"])
    expect(scenarioProblems(anomaly('20'))).toEqual([])
    expect(scenarioProblems(anomaly('5%'))).toEqual([])
  })
  it('an anomaly share of devices that rounds to none is a problem at `devices`, with the smallest share that selects one', () => {
    const anomaly = (count: number, devices: string) =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: ${count}\n    topic: "x/{deviceId}"\n    every: 1s\n    fields: {t: 20}\n    anomalies:\n      - {field: t, kind: spike, devices: ${devices}, probability: 0.5, magnitude: 5}\n`
    // It linted ok ("spike on t: 0 of 20 devices") and never fired, while devices: 0 is refused.
    expect(scenarioProblems(anomaly(20, '2%'))).toEqual([
      "10:42 fleets[0].anomalies[0].devices: 2% of fleet a's 20 devices selects no device (0.4 rounds to 0); the smallest share that selects one is 2.5%, or write devices: 1",
    ])
    expect(scenarioProblems(anomaly(20, '2.5%'))).toEqual([])
    expect(scenarioProblems(anomaly(3, '10%'))[0]).toContain("10% of fleet a's 3 devices selects no device (0.3 rounds to 0); the smallest share that selects one is 16.67%")
    expect(scenarioProblems(anomaly(3, '16.67%'))).toEqual([])
    expect(scenarioProblems(anomaly(7, '7.15%'))).toEqual([])
    // A chance per device (share:) may select none in a small fleet, as documented: not refused.
    expect(scenarioProblems(anomaly(20, '1').replace('devices: 1', 'share: 1%'))).toEqual([])
  })
  it('a param with the name of a var is a problem at the param: the topic rendered the var, the registry showed the param', () => {
    const text = `version: 1\nname: m\nfleets:\n  - name: a\n    count: 2\n    topic: "x/{site}/{deviceId}"\n    every: 1s\n    vars: {site: {cycle: [berlin, austin]}}\n    params:\n      site: {kind: pick, values: [x, y]}\n    fields: {t: 1}\n`
    expect(scenarioProblems(text)).toEqual(['10:7 fleets[0].params.site: param "site" has the name of a var of fleet a; rename one'])
    expect(scenarioProblems(text.replace('      site: {kind: pick', '      line: {kind: pick'))).toEqual([])
  })
  it('an unknown placeholder in a reply payload is a problem at its column; the documented reply names, vars and fields are not', () => {
    const reply = (payload: string) =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    vars: {site: berlin}\n    fields: {sp: 20}\n    commands:\n      - {topic: "c/{deviceId}", set: {sp: 21}, reply: {topic: "x/{deviceId}/ack", payload: '${payload}'}}\n`
    // It linted ok and the device sent {"v":}.
    const got = scenarioProblems(reply('{"v":{nofield}}'))
    expect(got).toHaveLength(1)
    expect(got[0]).toMatch(/^11:98 fleets\[0\]\.commands\[0\]\.reply\.payload: unknown placeholder \{nofield\} in "\{"v":\{nofield\}\}" \(known: \{status\} \{command\} \{topic\} \{payload\} \{request\.<key>\} .*\{site\}.*\{sp\}\)$/)
    expect(scenarioProblems(reply('{"s":"{status}","c":"{command}","t":"{topic}","p":{payload},"id":"{request.id}","site":"{site}","sp":{sp},"d":"{deviceId}"}'))).toEqual([])
    expect(scenarioProblems(reply('{"id":"{reqest.id}"}'))).toHaveLength(1)
  })
  it('a command that could never apply is a problem at its key: text that is no number for a numeric field, a mode from the request without a mode: block', () => {
    const rule = (action: string, fields = '{sp: 20, w: {kind: walk, mean: 1, sigma: 0.1, theta: 0.1}, label: "x"}') =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    fields: ${fields}\n    commands:\n      - {topic: "c/{deviceId}", ${action}}\n`
    // Both linted ok and every command failed when it came.
    expect(scenarioProblems(rule('set: {sp: "abc", w: " "}'))).toEqual([
      '10:43 fleets[0].commands[0].set.sp: field sp is a number, but "abc" is not one, so every command would fail: give a number, or "$.path" to take it from the request',
      '10:53 fleets[0].commands[0].set.w: field w is a number, but " " is not one, so every command would fail: give a number, or "$.path" to take it from the request',
    ])
    expect(scenarioProblems(rule('mode: "$.mode"'))).toEqual(['10:39 fleets[0].commands[0].mode: mode needs a mode: block in fleet a'])
    // What applies: a number, numeric text, a JSON path, any text for a text field.
    expect(scenarioProblems(rule('set: {sp: 21, w: "1.5", label: "abc"}'))).toEqual([])
    expect(scenarioProblems(rule('set: {sp: "$.value"}'))).toEqual([])
  })
})

describe('command rule problems in the scenario\'s own terms', () => {
  const rule = (line: string, extra = '') =>
    `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    fields: {sp: 20, level: 1}\n${extra}    commands:\n${line}`

  it('a rule without topic: names the missing key at the rule, whether written as a flow or a block map', () => {
    // It said "fleets[0].commands[0].topic: Invalid input".
    expect(scenarioProblems(rule('      - {set: {sp: 2}}\n'))).toEqual(['10:9 missing required key "topic" in fleets[0].commands[0]'])
    expect(scenarioProblems(rule('      - name: r\n        set: {sp: 2}\n'))).toEqual(['10:9 missing required key "topic" in fleets[0].commands[0]'])
    // The same for a key missing from a map that may also be written as a scalar (reboot: 5s or {after: 5s}).
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", reboot: {will: false}}\n'))).toEqual(['10:33 missing required key "after" in fleets[0].commands[0].reboot'])
  })

  it('reply: and set: of the wrong shape say what they take, with an example, and what they got', () => {
    // They said "reply: Invalid input" and "set: Invalid input: expected record, received array".
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", reply: yes}\n'))).toEqual([
      '10:40 fleets[0].commands[0].reply: expected true (answer on the request\'s MQTT 5 response topic) or a map such as {topic: "{deviceId}/ack", payload: \'{"status":"{status}"}\'}, got "yes"',
    ])
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", reply: false}\n'))).toEqual([
      '10:40 fleets[0].commands[0].reply: false sends no reply, as leaving reply out does: remove it, or give true or a map such as {topic: "{deviceId}/ack"}',
    ])
    // At the list, not at set: (a value of the wrong shape is wrong where it is).
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", set: [level]}\n'))).toEqual([
      '10:38 fleets[0].commands[0].set: expected a map of field to value, such as {setpoint: 21} or {setpoint: "$.value"} (from the request), got a list',
    ])
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", set: {level: 2}, reply: {topic: "c/{deviceId}/ack"}}\n'))).toEqual([])
  })

  it('a misspelt key of reboot: or mode: gets a did-you-mean, as unknown keys elsewhere do, swapped letters included', () => {
    // Both said only "unknown key": the keys of a map that may also be a scalar were not known to the hint.
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", reboot: {after: 5s, wil: true}}\n'))).toEqual([
      '10:53 unknown key "wil" in fleets[0].commands[0].reboot; did you mean "will"?',
    ])
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", mode: {to: eco, fro: 5m}}\n'))).toEqual([
      '10:49 unknown key "fro" in fleets[0].commands[0].mode; did you mean "for"?',
    ])
  })

  it('reboot with will: true in a fleet without a last will says, in a whole sentence, what to add', () => {
    // It ended "but fleet a has no lwt:", as if cut off.
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", reboot: {after: 5s, will: true}}\n'))).toEqual([
      '10:59 fleets[0].commands[0].reboot.will: reboot with will: true drops the socket so the broker sends the last will, but fleet a declares no last will: add lwt: {topic: "{deviceId}/status", payload: offline} to fleet a, or remove will: true',
    ])
    expect(scenarioProblems(rule('      - {topic: "c/{deviceId}", reboot: {after: 5s, will: true}}\n', '    lwt: {topic: "s/{deviceId}", payload: offline}\n'))).toEqual([])
  })
})

describe('anomalies on a field that is a number', () => {
  const spiked = (fields: string) =>
    `version: 1\nname: m\nseed: 3\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    fields: ${fields}\n    anomalies:\n      - {field: setpoint, kind: spike, magnitude: 5, share: 100%, probability: 1}\n`

  it('a spike on a constant number is accepted and shows in the readings; on constant text it is refused at kind', () => {
    // "setpoint: 20" was refused: "anomaly spike needs a numeric field, but setpoint is kind constant".
    for (const fields of ['{setpoint: 20}', '{setpoint: {kind: constant, value: 20}}', '{setpoint: {kind: pick, values: [20, 20]}}']) {
      expect(scenarioProblems(spiked(fields))).toEqual([])
      const scenario = loadScenario('m.yaml', {text: spiked(fields), env: {}})
      const streams = new SimulatedStreams(scenario, expandDevices(scenario), 0)
      const first = streams.take().sample
      expect(JSON.parse(first.payload ?? '')).toMatchObject({setpoint: 25})
      expect(first.labels.map((l) => l.kind)).toEqual(['spike'])
    }
    expect(scenarioProblems(spiked('{setpoint: "twenty"}'))).toEqual([
      '11:33 fleets[0].anomalies[0].kind: anomaly spike needs a field that is a number on every device, but setpoint is not (kind constant)',
    ])
  })
})

describe('a value of the wrong kind, said in the scenario\'s terms where the value is', () => {
  // Fleet a with field setpoint and modes eco/comfort; rules under commands: from line 13 (anomalies before them).
  const scenario = (rules: string, anomalies = '') =>
    `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    fields: {setpoint: 20}\n    mode:\n      initial: eco\n      transitions: {eco: {comfort: 0.1}, comfort: {eco: 0.1}}\n${anomalies}    commands:\n${rules}`
  const rule = (keys: string) => scenario(`      - topic: "c/{deviceId}"\n        ${keys}\n`)

  it('will: yes says will takes true or false (yes is text in YAML 1.2)', () => {
    // It said "reboot.will: Invalid input: expected boolean, received string".
    expect(scenarioProblems(rule('reboot: {after: 5s, will: yes}'))).toEqual([
      '14:35 fleets[0].commands[0].reboot.will: expected true or false, got "yes" (YAML 1.2 reads yes as text)',
    ])
  })

  it('name: 5 says a name is text, and how to write 5 as text', () => {
    // It said "name: Invalid input: expected string, received number".
    expect(scenarioProblems(rule('name: 5'))).toEqual(['14:15 fleets[0].commands[0].name: expected text, got 5 (write "5" for the text)'])
  })

  it('a list or map where another shape goes is reported at the list or map, not at its key', () => {
    // reply: [a] and set: [setpoint] were at the key, while reply: yes was at the value.
    expect(scenarioProblems(rule('reply: [a]'))[0]).toMatch(/^14:16 fleets\[0\]\.commands\[0\]\.reply: expected true .*, got a list$/)
    expect(scenarioProblems(rule('set: [setpoint]'))[0]).toMatch(/^14:14 fleets\[0\]\.commands\[0\]\.set: expected a map of field to value, .*, got a list$/)
  })

  it('topic: a number, or a number in a list of filters, is named at the number with what topic takes', () => {
    // Both said "topic: Invalid input", the second at the key.
    expect(scenarioProblems(scenario('      - topic: 5\n        set: {setpoint: 21}\n'))).toEqual([
      '13:16 fleets[0].commands[0].topic: expected a topic filter such as "{deviceId}/cmd/+", or a list of them, got 5',
    ])
    expect(scenarioProblems(scenario('      - topic: ["c/{deviceId}", 5]\n        set: {setpoint: 21}\n'))).toEqual([
      '13:33 fleets[0].commands[0].topic[1]: expected a topic filter such as "{deviceId}/cmd/+", got 5',
    ])
  })

  it('when: as text says it takes a map of JSON path to value', () => {
    // It said "when: Invalid input: expected record, received string".
    expect(scenarioProblems(rule('when: "$.cmd == 1"'))).toEqual([
      '14:15 fleets[0].commands[0].when: expected a map of JSON path to value, such as {"$.cmd": "setpoint"}, got "$.cmd == 1"',
    ])
  })

  it('release: as one name or a boolean says it takes a list of fields', () => {
    // Both said "release: Invalid input: expected array, received string" (or boolean).
    expect(scenarioProblems(rule('release: setpoint'))).toEqual(['14:18 fleets[0].commands[0].release: expected a list of fields, such as [setpoint], got "setpoint"'])
    expect(scenarioProblems(rule('release: true'))).toEqual(['14:18 fleets[0].commands[0].release: expected a list of fields, such as [setpoint], got true'])
  })

  it('anomaly: as a name says it takes {start: ...} or {stop: ...}', () => {
    // It said "anomaly: Invalid input: expected object, received string".
    expect(scenarioProblems(rule('anomaly: start'))).toEqual([
      '14:18 fleets[0].commands[0].anomaly: expected a map such as {start: overheat} or {stop: overheat} (an anomaly the fleet declares), got "start"',
    ])
  })

  it('commands: written as a map, or left empty, says it takes a list of rules', () => {
    // They said "commands: Invalid input: expected array, received object" (or null).
    expect(scenarioProblems(scenario('      r1:\n        topic: "c/{deviceId}"\n'))).toEqual([
      '13:7 fleets[0].commands: expected a list of rules, each an item such as - {topic: "{deviceId}/cmd", set: {setpoint: 21}}, got a map',
    ])
    expect(scenarioProblems(scenario(''))).toEqual([
      '12:5 fleets[0].commands: expected a list of rules, each an item such as - {topic: "{deviceId}/cmd", set: {setpoint: 21}}, got nothing',
    ])
  })

  it('a misspelt anomaly kind gets the did-you-mean a misspelt generator kind gets', () => {
    // It said "kind: Invalid option: expected one of "spike"|"stuck"|...".
    const anomaly = (kind: string) => `    anomalies:\n      - {field: setpoint, kind: ${kind}, magnitude: 5, share: 100%, probability: 0.1}\n`
    expect(scenarioProblems(scenario('      - {topic: "c/{deviceId}", anomaly: {start: anomaly-0}}\n', anomaly('spyke')))).toEqual([
      '13:33 fleets[0].anomalies[0]: unknown kind "spyke"; did you mean spike? (one of spike, stuck, dropout, drift, shift, noise, out-of-range)',
    ])
    expect(scenarioProblems(scenario('      - {topic: "c/{deviceId}", set: {setpoint: 1}}\n', anomaly('boom')))).toEqual([
      '13:33 fleets[0].anomalies[0]: unknown kind "boom"; expected one of spike, stuck, dropout, drift, shift, noise, out-of-range',
    ])
  })

  it('an anomaly on a misspelt field gets a did-you-mean, as set: does', () => {
    // It said only "anomaly on unknown field "setpiont" (fields: setpoint)".
    const anomalies = '    anomalies:\n      - {field: setpiont, kind: spike, magnitude: 5, share: 100%, probability: 0.1}\n'
    expect(scenarioProblems(scenario('      - {topic: "c/{deviceId}", set: {setpoint: 1}}\n', anomalies))).toEqual([
      '13:17 fleets[0].anomalies[0].field: anomaly on unknown field "setpiont" (did you mean "setpoint"?) (fields: setpoint)',
    ])
  })

  it('an unknown placeholder close to a known one, or shortening it, gets a did-you-mean', () => {
    // It listed the known names only.
    expect(scenarioProblems(rule('reply: {topic: "x/{devId}"}'))).toEqual([
      '14:27 fleets[0].commands[0].reply.topic: unknown placeholder {devId} in "x/{devId}" (did you mean {deviceId}?) (known: {fleet} {index} {number} {deviceId})',
    ])
    // A key of the request is offered as {request.<key>} would read it.
    expect(scenarioProblems(rule('reply: {topic: "x/{deviceId}", payload: \'{"id":"{reqest.id}"}\'}'))[0]).toContain('unknown placeholder {reqest.id} in "{"id":"{reqest.id}"}" (did you mean {request.id}?)')
  })

  it('an unknown mode written as {to: ...} is at the mode, as mode: ecoo is', () => {
    // mode: {to: ecoo, for: 5m} was at the key mode:.
    const how = "a mode that no schedule or transition enters is declared in the fleet's mode: {modes: [ecoo]}"
    expect(scenarioProblems(rule('mode: {to: ecoo, for: 5m}'))).toEqual([`14:20 fleets[0].commands[0].mode: unknown mode "ecoo" (did you mean "eco"?) (modes: eco, comfort; ${how})`])
    expect(scenarioProblems(rule('mode: ecoo'))).toEqual([`14:15 fleets[0].commands[0].mode: unknown mode "ecoo" (did you mean "eco"?) (modes: eco, comfort; ${how})`])
  })
  it('a misspelt time zone gets a did-you-mean, from the zones this system knows', () => {
    const zone = (tz: string) => `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    timezone: ${tz}\n    fields: {t: 1}\n`
    // It said only 'is not a time zone this system knows (an IANA name such as Europe/Berlin, ...)'.
    expect(scenarioProblems(zone('Europe/Berln'))).toEqual([
      '8:15 fleets[0].timezone: "Europe/Berln" is not a time zone this system knows; did you mean Europe/Berlin? (an IANA name such as Europe/Berlin, America/Chicago or UTC)',
    ])
    expect(scenarioProblems(zone('America/Chicgo'))[0]).toContain('did you mean America/Chicago?')
    // A city alone is found by its city.
    expect(scenarioProblems(zone('Berlin'))[0]).toContain('did you mean Europe/Berlin?')
    expect(scenarioProblems(zone('Nowhere/Atall'))[0]).not.toContain('did you mean')
    expect(scenarioProblems(zone('Europe/Berlin'))).toEqual([])
  })
  it('stages that never ramp devices up are refused at `stages`, and a storm before the first ramp at the storm', () => {
    const staged = (stages: string) => `version: 1\nname: m\nstages:\n${stages}fleets:\n  - {name: q0, count: 2, topic: "st/{deviceId}", every: 500ms, fields: {v: 1}}\n`
    // It linted ok, and the run ended "no device ever connected ... check the broker address, ..." (exit 1).
    expect(scenarioProblems(staged('  - steady: {for: 2s}\n  - storm: {drop: 100%}\n'))).toEqual([
      '3:1 stages: no stage brings devices up: with stages, devices start disconnected and only a ramp connects them, so none would ever connect. Add `- ramp: {to: 100%, over: 10s}` where they should come up (or leave stages out: connect: then brings every device up)',
    ])
    expect(scenarioProblems(staged('  - ramp: {to: 0%, over: 1s}\n'))[0]).toMatch(/^3:1 stages: no stage brings devices up/)
    expect(scenarioProblems(staged('  - storm: {drop: 50%}\n  - ramp: {to: 100%, over: 1s}\n'))).toEqual([
      '4:5 stages[0]: a storm before the first ramp drops nothing: every device is still disconnected then. Put `- ramp: {to: 100%, over: 10s}` before it',
    ])
    // A wait before the first ramp is a plan, not a mistake.
    expect(scenarioProblems(staged('  - steady: {for: 2s}\n  - ramp: {to: 100%, over: 1s}\n  - storm: {drop: 100%}\n'))).toEqual([])
  })
  it('a raw payload template takes the device placeholders topics take; an unknown name gets a did-you-mean', () => {
    const raw = (template: string) =>
      `version: 1\nname: m\nfleets:\n  - name: a\n    count: 2\n    topic: "x/{deviceId}"\n    every: 1s\n    vars: {site: berlin}\n    params: {fw: {kind: pick, values: [a, b]}}\n    payload: {format: raw, template: "${template}"}\n    fields:\n      temp: 20\n      pos: {kind: gps, route: [[0, 0], [1, 1]], speedKmh: 10}\n`
    // {params.fw} and {deviceId} were refused: 'payload template names unknown field "params.fw" (fields: ...)'.
    expect(scenarioProblems(raw('{params.fw};{deviceId};{index:03};{number};{fleet};{site};{temp};{pos.lat}'))).toEqual([])
    const known = "(fields: temp, pos, pos.lat, pos.lon, pos.heading, pos.speed; the device's: {fleet} {index} {number} {deviceId} {site} {params.fw})"
    expect(scenarioProblems(raw('{params.fww};{tmp}'))).toEqual([
      `10:39 fleets[0].payload.template: payload template names unknown field or placeholder {params.fww} (did you mean {params.fw}?) ${known}`,
      `10:52 fleets[0].payload.template: payload template names unknown field or placeholder {tmp} (did you mean {temp}?) ${known}`,
    ])
    expect(scenarioProblems(raw('{deviceid};{pos.speeed}'))).toEqual([
      `10:39 fleets[0].payload.template: payload template names unknown field or placeholder {deviceid} (did you mean {deviceId}?) ${known}`,
      `10:50 fleets[0].payload.template: payload template names unknown value {pos.speeed} (did you mean {pos.speed}?) ${known}`,
    ])
  })
})
