import {describe, expect, it} from 'vitest'
import {createDeviceModel} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

/** DeviceModel.current: what a command's reply shows, and that asking for it never moves the device's streams. */

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0)
const scenario = loadScenario('inline.yaml', {
  text: `
version: 1
seed: 7
fleets:
  - name: zone
    count: 1
    topic: "z/{deviceId}"
    every: 1s
    mode: {initial: comfort, transitions: {comfort: {eco: 0.1}, eco: {comfort: 0.1}}}
    fields:
      mode: {kind: mode}
      label: "zone {deviceId}"
      sp: {kind: constant, value: 21.5, byMode: {eco: {value: 18}}}
      temp: {kind: walk, mean: 20, theta: 0.1, sigma: 0.5, resolution: 0.01}
      id: {kind: uuid}
`,
})
const device = expandDevices(scenario)[0]
const FIELDS = ['mode', 'label', 'sp', 'temp', 'id']
const values = (model: ReturnType<typeof createDeviceModel>, read: (f: string) => unknown) => Object.fromEntries(FIELDS.map((f) => [f, read(f)]))

describe('the values a reply shows (DeviceModel.current)', () => {
  it('before the first message: what that message carries, commands included; the stream is the same as without asking', () => {
    const asked = createDeviceModel(scenario, device)
    asked.setMode('eco')
    asked.hold('temp', 25)
    const shown = values(asked, (f) => asked.current(f, T0))
    const payloads = [asked.sample(0, T0).payload]
    expect(shown).toEqual({...JSON.parse(payloads[0]!), temp: 25})
    expect(shown).toMatchObject({mode: 'eco', label: expect.stringMatching(/^zone /), sp: 18})
    for (let n = 1; n < 200; n++) {
      values(asked, (f) => asked.current(f, T0))
      payloads.push(asked.sample(n, T0 + n * 1000).payload)
    }
    const plain = createDeviceModel(scenario, device)
    plain.setMode('eco')
    plain.hold('temp', 25)
    expect(payloads).toEqual(Array.from({length: 200}, (_, n) => plain.sample(n, T0 + n * 1000).payload))
  })

  it('after a message: held values, a released field\'s generated value, and mode-only fields in a commanded mode', () => {
    const model = createDeviceModel(scenario, device)
    let last = JSON.parse(model.sample(0, T0).payload!)
    model.hold('temp', 30)
    expect(model.current('temp', T0)).toBe(30)
    last = JSON.parse(model.sample(1, T0 + 1000).payload!)
    expect(last.temp).toBe(30)
    // Released: the walk's own value of the last message, which the hold hid.
    model.release('temp')
    const underneath = model.current('temp', T0)
    expect(underneath).not.toBe(30)
    expect(typeof underneath).toBe('number')
    // Held and released again before the next message: still the generator's value, not the earlier held one.
    model.hold('temp', 31)
    model.release('temp')
    expect(model.current('temp', T0)).toBe(underneath)
    const other = last.mode === 'eco' ? 'comfort' : 'eco'
    model.setMode(other)
    expect(values(model, (f) => model.current(f, T0))).toEqual({...last, temp: underneath, mode: other, sp: other === 'eco' ? 18 : 21.5})
    expect(model.current('nope', T0)).toBeUndefined()
  })

  it("what a behaviour module's device.get reads (DeviceModel.value): before the first message its values, after it the last message's", () => {
    // device.get read 0 for every field, text included, before the device's first message.
    const model = createDeviceModel(scenario, device)
    const before = values(model, (f) => model.value(f, T0))
    const first = JSON.parse(model.sample(0, T0).payload!)
    expect(before).toEqual(first)
    expect(typeof before.label).toBe('string')
    const second = JSON.parse(model.sample(1, T0 + 1000).payload!)
    expect(values(model, (f) => model.value(f, T0))).toEqual(second)
    expect(model.value('nope', T0)).toBeUndefined()
  })
})
