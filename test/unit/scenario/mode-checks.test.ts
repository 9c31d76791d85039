import {describe, expect, it} from 'vitest'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'
import {createDeviceModel} from '../../../src/sim/generators/device-model.js'
import {scenarioProblems} from '../../helpers/scenario-problems.js'

/**
 * A fleet's modes are declared by its mode: block (initial, the schedule's, the transitions', and modes:); the
 * fields and commands refer to them. Before: a schedule entry `mode: comfrt` beside `mode: comfort` linted OK and
 * made a mode of its own, in which the counter counting in comfort froze every Saturday; and a command's `mode:
 * {to: boost}` in a schedule fleet was refused with no word of how to declare boost, short of a dummy entry.
 */
const fleet = (mode: string, fields = '      runHours: {kind: counter, step: 0.0083, modes: [comfort]}\n', more = '') =>
  `version: 1\nname: m\nseed: 1\nfleets:\n  - name: hvac\n    count: 2\n    topic: "b/{deviceId}"\n    every: 1m\n    timezone: Europe/Berlin\n    mode:\n${mode}    fields:\n${fields}${more}`

const SCHEDULE = (saturday: string) =>
  `      initial: eco\n      schedule:\n        - {days: mon-fri, from: "06:00", to: "19:00", mode: comfort}\n        - {days: sat, from: "08:00", to: "24:00", mode: ${saturday}}\n`

const COMMAND = '    commands:\n      - topic: "b/{deviceId}/cmd"\n        mode: {to: boost, for: 2s}\n'

describe('modes: declared once, referred to everywhere else', () => {
  it('refuses a schedule mode named only once a slip away from another, at the entry, with a did-you-mean', () => {
    expect(scenarioProblems(fleet(SCHEDULE('comfrt')))).toEqual([
      `14:57 fleets[0].mode.schedule[1].mode: mode "comfrt" is named only here and is a slip from mode "comfort" (named 2 times): did you mean comfort? (if comfrt is a mode of its own, declare it in the fleet's mode: {modes: [comfrt]})`,
    ])
    // Spelt right, or declared on purpose: fine.
    expect(scenarioProblems(fleet(SCHEDULE('comfort')))).toEqual([])
    expect(scenarioProblems(fleet(`      modes: [comfrt]\n${SCHEDULE('comfrt')}`))).toEqual([])
    // Named twice (the counter counts in it too): meant, whatever it is close to.
    expect(scenarioProblems(fleet(SCHEDULE('comfrt'), '      runHours: {kind: counter, step: 0.0083, modes: [comfort, comfrt]}\n'))).toEqual([])
  })

  it('finds the slip in initial, in a transition and in case alone; leaves distinct names alone', () => {
    expect(scenarioProblems(fleet(SCHEDULE('comfort').replace('initial: eco', 'initial: comfrot')))[0]).toMatch(/^11:16 fleets\[0\]\.mode\.initial: mode "comfrot" is named only here and is a slip from mode "comfort"/)
    const chain = '      initial: running\n      transitions: {running: {idle: 0.1}, idle: {running: 0.2}, idel: {}}\n'
    expect(scenarioProblems(fleet(chain, '      v: 1\n'))).toEqual([
      `12:65 fleets[0].mode.transitions.idel: mode "idel" is named only here and is a slip from mode "idle" (named 2 times): did you mean idle? (if idel is a mode of its own, declare it in the fleet's mode: {modes: [idel]})`,
    ])
    // A transition to a mode no key declares was refused before; it now says which was meant.
    expect(scenarioProblems(fleet('      initial: running\n      transitions: {running: {fualt: 0.1}, fault: {}}\n', '      v: 1\n'))).toEqual([
      '12:38 fleets[0].mode.transitions.running.fualt: transition to unknown mode "fualt" (did you mean "fault"?) (modes: running, fault; add "fualt: {}" to declare it)',
    ])
    expect(scenarioProblems(fleet(SCHEDULE('Comfort')))[0]).toContain('mode "Comfort" is named only here and is a slip from mode "comfort"')
    expect(scenarioProblems(fleet(SCHEDULE('off')))).toEqual([])
    expect(scenarioProblems(fleet(SCHEDULE('boost')))).toEqual([])
  })

  it('a mode only a command enters is declared in modes:, and the refusal says so', () => {
    const how = "a mode that no schedule or transition enters is declared in the fleet's mode: {modes: [boost]}"
    expect(scenarioProblems(fleet(SCHEDULE('comfort'), undefined, COMMAND))).toEqual([`19:20 fleets[0].commands[0].mode: unknown mode "boost" (modes: eco, comfort; ${how})`])
    expect(scenarioProblems(fleet(SCHEDULE('comfort'), '      runHours: {kind: counter, step: 0.0083, modes: [boost]}\n'))).toEqual([`16:55 fleets[0].fields.runHours.modes[0]: counter counts in unknown mode "boost" (modes: eco, comfort; ${how})`])
    expect(scenarioProblems(fleet(`      modes: [boost]\n${SCHEDULE('comfort')}`, '      runHours: {kind: counter, step: 0.0083, modes: [comfort, boost]}\n', COMMAND))).toEqual([])
    expect(scenarioProblems(fleet(`      modes: [boost, boost]\n${SCHEDULE('comfort')}`))).toEqual(['11:22 fleets[0].mode.modes[1]: mode "boost" is listed twice (entries 1 and 2)'])
  })

  it('a device is put in a declared mode by a command, and its counter counts there', () => {
    const text = fleet(`      modes: [boost]\n${SCHEDULE('comfort')}`, '      runHours: {kind: counter, step: 1, modes: [boost]}\n      m: {kind: mode}\n', COMMAND)
    const scenario = loadScenario('m.yaml', {text, env: {}})
    const [device] = expandDevices(scenario)
    const model = createDeviceModel(scenario, device)
    // Sunday 2026-01-04 10:00 Berlin: the schedule says eco.
    const sunday = Date.parse('2026-01-04T09:00:00Z')
    model.sample(0, sunday)
    expect(model.value('m')).toBe('eco')
    expect(model.setMode('boost', {atMs: sunday, forMs: 3_600_000})).toBe(true)
    model.sample(1, sunday + 60_000)
    model.sample(2, sunday + 120_000)
    expect(model.value('m')).toBe('boost')
    expect(model.value('runHours')).toBeGreaterThan(0)
    // An undeclared mode is still refused at run time (a behaviour module's device.setMode).
    expect(model.setMode('turbo')).toBe(false)
  })
})
