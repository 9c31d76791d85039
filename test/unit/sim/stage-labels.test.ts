import {describe, expect, it} from 'vitest'
import {labelAfterStages, planStages} from '../../../src/sim/fleet/engine.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

function plan(stages: string) {
  const scenario = loadScenario('inline.yaml', {
    text: `version: 1\nseed: 1\n${stages}\nfleets:\n  - {name: s, count: 4, topic: "s/{deviceId}", every: 1s, fields: {v: 1}}\n`,
  })
  return planStages(scenario, 4)
}

describe('the stage the live line names after the last stage', () => {
  it('names a storm that ends the plan, whose victims are still reconnecting, instead of calling the fleet steady', () => {
    const p = plan('stages:\n  - ramp: {to: 100%, over: 1s}\n  - steady: {for: 2s}\n  - storm: {drop: 30%}')
    expect(p.map((s) => s.label)).toEqual(['ramp to 100%', 'steady', 'storm 30%'])
    expect(labelAfterStages(p)).toBe('after storm 30%')
  })

  it('says steady after a ramp or a hold, a storm earlier in the plan included', () => {
    expect(labelAfterStages(plan('stages:\n  - ramp: {to: 100%, over: 1s}\n  - storm: {drop: 30%}\n  - ramp: {to: 50%, over: 1s}'))).toBe('steady')
    expect(labelAfterStages(plan('stages:\n  - ramp: {to: 100%, over: 1s}\n  - storm: {drop: 30%}\n  - steady: {for: 1s}'))).toBe('steady')
    expect(labelAfterStages(plan('connect: {rate: 100/s}'))).toBe('steady')
  })
})
