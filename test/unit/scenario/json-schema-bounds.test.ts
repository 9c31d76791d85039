import {readdirSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {Ajv2020} from 'ajv/dist/2020.js'
import yaml from 'js-yaml'
import {describe, expect, it} from 'vitest'

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
})
