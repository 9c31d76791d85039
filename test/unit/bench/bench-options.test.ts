import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {loadBenchProfile, parseStartAt, toBenchRequest} from '../../../src/bench/bench-options.js'
import {parseShard} from '../../../src/cli/flag-parsers.js'
import {UsageError} from '../../../src/errors.js'

describe('parseStartAt', () => {
  it('takes an instant with its zone, or Unix seconds', () => {
    expect(parseStartAt('2026-12-06T21:30:00Z')).toBe(Date.parse('2026-12-06T21:30:00Z'))
    expect(parseStartAt('2026-12-06T22:30:00+01:00')).toBe(Date.parse('2026-12-06T21:30:00Z'))
    expect(parseStartAt('1796592600')).toBe(1_796_592_600_000)
  })

  it('refuses a time without a zone (pods in other zones would read it otherwise) and garbage', () => {
    expect(() => parseStartAt('2026-12-06T21:30:00')).toThrow(UsageError)
    expect(() => parseStartAt('2026-12-06T21:30:00')).toThrow('--start-at "2026-12-06T21:30:00": expected an instant with its zone')
    expect(() => parseStartAt('soon')).toThrow(UsageError)
  })
})

describe('the run id', () => {
  const ctx = {commandLine: [], toolVersion: 'test'}
  it('is --run-id, else the --start-at instant (so shards started together share it), else random', () => {
    expect(toBenchRequest({}, {...ctx, runId: 'nightly-42'}).runId).toBe('nightly-42')
    const shard = parseShard('2/3', undefined)
    const a = toBenchRequest({}, {...ctx, shard, startAt: '2026-12-06T21:30:00Z'})
    const b = toBenchRequest({}, {...ctx, shard, startAt: '1796592600'})
    expect(a.runId).toBe('start-2026-12-06T21:30:00.000Z')
    expect(a.startAtMs).toBe(Date.parse('2026-12-06T21:30:00Z'))
    expect(b.runId).toBe(new Date(1_796_592_600_000).toISOString().replace(/^/, 'start-'))
    expect(toBenchRequest({}, ctx).runId).not.toBe(toBenchRequest({}, ctx).runId)
  })
})

describe('durations', () => {
  const ctx = {commandLine: [], toolVersion: 'test'}
  it('a flag typed without a unit is refused; a profile value (milliseconds from its schema, a quoted "5" too) is not', () => {
    expect(() => toBenchRequest({duration: '5'}, ctx)).toThrow('--duration 5: give a unit: 5s, 5m, 5ms')
    expect(() => toBenchRequest({warmup: '2'}, ctx)).toThrow('--warmup 2: give a unit')
    const file = join(mkdtempSync(join(tmpdir(), 'iotd-profile-')), 'p.yaml')
    writeFileSync(file, 'version: 1\nduration: "5000"\nwarmup: "5"\n')
    const profile = loadBenchProfile(file)
    expect(profile).toMatchObject({duration: 5000, warmup: 5})
    expect(() => toBenchRequest(profile, ctx)).not.toThrow()
  })
})
