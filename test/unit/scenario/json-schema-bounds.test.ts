import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import yaml from 'js-yaml'
import {describe, expect, it} from 'vitest'
import {loadScenario} from '../../../src/sim/scenario/index.js'

/**
 * What an editor checks with schemas/scenario.schema.json (issue #13 item 4): the written forms of durations,
 * shares and topics have patterns and ranges, so a negative interval, a share above 100 % and a wildcard topic are
 * flagged as they are typed; every shipped scenario still passes. Checked with ajv, a JSON Schema validator that
 * shares nothing with zod.
 */

const root = join(import.meta.dirname, '../../..')
const schema = JSON.parse(readFileSync(join(root, 'schemas/scenario.schema.json'), 'utf8')) as Record<string, unknown>
const validate = new Ajv2020({strict: false, allErrors: true}).compile(schema)

function scenario(fleet: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: 1,
    fleets: [{name: 'press', count: 2, topic: 'plant/{deviceId}/telemetry', every: '1s', fields: {temp: {kind: 'gaussian', mean: 20, stddev: 1}}, ...fleet}],
    ...extra,
  }
}

function errorsAt(doc: unknown): string[] {
  validate(doc)
  return (validate.errors ?? []).map((e) => e.instancePath)
}

describe('schemas/scenario.schema.json ranges and patterns', () => {
  it('accepts every shipped scenario and a small valid one', () => {
    const files = readdirSync(join(root, 'scenarios')).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThan(3)
    for (const f of files) {
      const doc = yaml.load(readFileSync(join(root, 'scenarios', f), 'utf8'))
      expect(validate(doc), `${f}: ${JSON.stringify(validate.errors)}`).toBe(true)
    }
    expect(validate(scenario({every: '1m30s', jitter: '5%'}))).toBe(true)
    expect(validate(scenario({every: 250}))).toBe(true)
  })

  it('flags every: -1s (and 0, and words) at the fleet key', () => {
    expect(errorsAt(scenario({every: '-1s'}))).toContain('/fleets/0/every')
    expect(errorsAt(scenario({every: -1}))).toContain('/fleets/0/every')
    expect(errorsAt(scenario({every: 0}))).toContain('/fleets/0/every')
    expect(errorsAt(scenario({every: 'soon'}))).toContain('/fleets/0/every')
  })

  it('flags share: 150% (and 1.5) on an anomaly; 10% and 0.1 pass', () => {
    const anomaly = (share: unknown) => scenario({anomalies: [{field: 'temp', kind: 'spike', share, probability: 0.01, duration: '5s', magnitude: 5}]})
    expect(errorsAt(anomaly('150%'))).toContain('/fleets/0/anomalies/0/share')
    expect(errorsAt(anomaly(1.5))).toContain('/fleets/0/anomalies/0/share')
    expect(errorsAt(anomaly('1.5'))).toContain('/fleets/0/anomalies/0/share')
    expect(validate(anomaly('10%')), JSON.stringify(validate.errors)).toBe(true)
    expect(validate(anomaly(0.1))).toBe(true)
  })

  it('flags topic: a/# and a/+ on fleets and their birth/lwt/death messages', () => {
    expect(errorsAt(scenario({topic: 'a/#'}))).toContain('/fleets/0/topic')
    expect(errorsAt(scenario({topic: 'a/+/b'}))).toContain('/fleets/0/topic')
    expect(errorsAt(scenario({lwt: {topic: 'a/#', payload: 'x'}}))).toContain('/fleets/0/lwt/topic')
    expect(validate(scenario({birth: {topic: 'a/{deviceId}/state', payload: 'on'}}))).toBe(true)
  })

  it('takes "{params.x}" where the loader takes it as a number (base, byMode, durations), and still flags other text there', () => {
    const fleet = {
      params: {base: {kind: 'gaussian', mean: 65, stddev: 3}, wave: {kind: 'uniform', min: 50000, max: 70000}},
      mode: {initial: 'run', transitions: {run: {idle: 0.1}, idle: {run: 0.1}}},
      fields: {
        temp: {kind: 'walk', mean: '{params.base}', theta: 0.05, sigma: 0.4, max: '{params.base}', byMode: {idle: {mean: ' {params.base} '}}},
        wave: {kind: 'sine', min: 0, max: 1, period: '{params.wave}'},
        label: '{params.base}',
      },
    }
    const doc = scenario(fleet)
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true)
    // The loader agrees: the same document loads.
    expect(loadScenario('inline.yaml', {text: JSON.stringify(doc)}).fleets[0].paramRefs).toHaveLength(4)
    const bad = (temp: Record<string, unknown>) => scenario({...fleet, fields: {temp: {kind: 'walk', mean: 65, theta: 0.05, sigma: 0.4, ...temp}}})
    expect(errorsAt(bad({mean: 'hot'}))).toContain('/fleets/0/fields/temp/mean')
    expect(errorsAt(bad({mean: '{params.base'}))).toContain('/fleets/0/fields/temp/mean')
    expect(errorsAt(bad({byMode: {idle: {sigma: '{base}'}}}))).toContain('/fleets/0/fields/temp/byMode/idle/sigma')
    // params themselves are drawn before any reference is resolved: a reference there is still no number.
    expect(errorsAt(scenario({params: {base: {kind: 'gaussian', mean: '{params.x}', stddev: 1}}}))).toContain('/fleets/0/params/base/mean')
  })
})
