import {describe, expect, it} from 'vitest'
import {createDeviceModel, dueOffsetMs} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'
import {SimulatedStreams, type SimulatedMessage} from '../../../src/sim/simulated-streams.js'

const T0 = Date.UTC(2026, 0, 5, 8, 0, 0)

const scenario = loadScenario('inline.yaml', {
  text: `
version: 1
seed: 9
fleets:
  - name: fast
    count: 3
    topic: "f/{deviceId}"
    every: 700ms
    jitter: 100ms
    fields: {v: {kind: uniform, min: 0, max: 10, resolution: 0.1}, n: {kind: counter}}
  - name: slow
    count: 2
    topic: "s/{deviceId}"
    every: 2s
    fields: {t: {kind: walk, mean: 20, theta: 0.1, sigma: 0.5, resolution: 0.1}}
`,
})
const devices = expandDevices(scenario)

function takeUntil(streams: SimulatedStreams, toMs: number): SimulatedMessage[] {
  const out: SimulatedMessage[] = []
  while (streams.peekDue() < toMs) out.push(streams.take())
  return out
}

describe('SimulatedStreams: the simulated-clock loop of backfill and the pipeline sim source', () => {
  it('gives every device its own schedule and payloads, interleaved in time order', () => {
    const messages = takeUntil(new SimulatedStreams(scenario, devices, T0), T0 + 20_000)
    expect(messages.map((m) => m.ts)).toEqual(messages.map((m) => m.ts).sort((a, b) => a - b))
    for (const device of devices) {
      const own = messages.filter((m) => m.device === device)
      // The n-th message of a device is due at from + dueOffsetMs(n), and is the n-th sample of its own model.
      const model = createDeviceModel(scenario, device)
      expect(own.length).toBeGreaterThan(5)
      own.forEach((m, n) => {
        expect(m.ts).toBe(Math.round(T0 + dueOffsetMs(device, n, scenario.seed)))
        expect(m.sample.payload).toBe(model.sample(n, m.ts).payload)
      })
    }
  })

  it('peekDue is the time of the message take returns, and no devices means nothing is ever due', () => {
    const streams = new SimulatedStreams(scenario, devices, T0)
    for (let i = 0; i < 50; i++) {
      const due = streams.peekDue()
      expect(streams.take().ts).toBe(Math.round(due))
    }
    expect(new SimulatedStreams(scenario, [], T0).peekDue()).toBe(Number.POSITIVE_INFINITY)
  })
})
