import {describe, expect, it} from 'vitest'
import {mergeBackfillSummaries, mergeSimSummaries, shardsThatDidNothing} from '../../../src/report/sim-merge.js'
import {formatSimSummary} from '../../../src/report/sim-summary.js'
import {judgeMergedSummary} from '../../../src/sim/sim-thresholds.js'
import type {BackfillSummary} from '../../../src/sim/backfill.js'
import type {SimSummary} from '../../../src/sim/types.js'
import {makeSummary} from '../../fixtures/report/sim-data.js'

describe('mergeSimSummaries', () => {
  it('adds a counter only some shards have (unsent) as 0 where it is missing, whichever shard comes first', () => {
    const without = {...makeSummary(), shard: {index: 0, count: 2}}
    const base = makeSummary()
    const withUnsent = {...base, shard: {index: 1, count: 2}, totals: {...base.totals, dropped: base.totals.dropped + 3, unsent: 3}}
    for (const parts of [
      [without, withUnsent],
      [withUnsent, without],
    ]) {
      const merged = mergeSimSummaries(parts)
      expect(merged.totals.unsent).toBe(3)
      expect(merged.totals.dropped).toBe(2 * base.totals.dropped + 3)
      expect(merged.totals.published).toBe(2 * base.totals.published)
    }
  })

  it('sums the commands not taken by devices going down, a shard of an older iotd (without the counter) as 0', () => {
    const base = makeSummary()
    const press = (notTaken?: number) => base.fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 5, commandsApplied: 5 - (notTaken ?? 0), commandsReplied: 5 - (notTaken ?? 0), ...(notTaken !== undefined && {commandsNotTaken: notTaken})} : f))
    const part = (index: number, notTaken?: number) => ({...base, shard: {index, count: 3}, fleets: press(notTaken), totals: {...base.totals, commandsReceived: 5, commandsApplied: 5 - (notTaken ?? 0), ...(notTaken !== undefined && {commandsNotTaken: notTaken})}})
    const merged = mergeSimSummaries([part(0, 2), part(1), part(2, 1)])
    expect(merged.totals.commandsNotTaken).toBe(3)
    expect(merged.fleets.find((f) => f.fleet === 'press')?.commandsNotTaken).toBe(3)
    expect(formatSimSummary(merged)).toContain('press: 15 received, 12 applied, 0 failed, 0 ignored (no rule matched), 3 not taken (the device was going down); 12 replied')
  })

  it('names the shards that never connected or published nothing, and warns when the shards ran for different times', () => {
    const base = makeSummary({definition: {fingerprint: '0123456789abcdef', devices: 252}})
    const merged = mergeSimSummaries([
      {...base, shard: {index: 0, count: 3}},
      {...base, shard: {index: 1, count: 3}, neverConnected: true, elapsedMs: 1},
      {...base, shard: {index: 2, count: 3}, publishedNothing: true},
    ])
    expect(merged.warnings).toEqual([
      'shard 2/3: no device ever connected to mqtt://plant-broker:1883; it published nothing',
      'shard 3/3: the devices connected to mqtt://plant-broker:1883 but published nothing',
      "the shards ran for different times (1ms to 20s): not one run's length; the merged rates divide by the longest",
    ])
    expect(shardsThatDidNothing([{...base, shard: {index: 0, count: 1}}])).toEqual([])
    // Lengths within a tenth (or a second) of each other are one run's.
    const two = {...base, definition: {fingerprint: '0123456789abcdef', devices: 168}}
    expect(mergeSimSummaries([{...two, shard: {index: 0, count: 2}}, {...two, shard: {index: 1, count: 2}, elapsedMs: 19_000}]).warnings).toEqual([])
  })

  it('refuses with one consistent reason: an invalid first summary alone, "the first is not a shard"', () => {
    const shard = {...makeSummary(), shard: {index: 0, count: 3}}
    expect(() => mergeSimSummaries([{} as never, shard])).toThrow(/^summary 1 is not an iotd sim --json summary \(neither a live run's nor a backfill's\)$/)
    expect(() => mergeSimSummaries([makeSummary(), shard])).toThrow('summary 1 is not a shard (run with --shard i/n or --shards n); summary 2 is shard 1/3, the first is not a shard')
  })

  it('names the files it was given in a refusal, not "summary 2"', () => {
    const base = makeSummary()
    const of = (index: number, count: number, more: Partial<SimSummary> = {}) => ({...base, shard: {index, count}, ...more})
    const files = ['shard-1.json', 'shard-2.json', 'shard-3.json']
    expect(() => mergeSimSummaries([of(0, 4), of(1, 3)], files)).toThrow('shard-2.json is shard 2/3, the first (shard-1.json) is of 4')
    expect(() => mergeSimSummaries([of(0, 3), of(1, 3, {seed: 8})], files)).toThrow(`shard-2.json ran scenario ${base.scenario} with seed 8, the first (shard-1.json) ${base.scenario} with seed ${base.seed}: not one fleet`)
    expect(() => mergeSimSummaries([base, of(0, 3)], files)).toThrow('shard-1.json is not a shard (run with --shard i/n or --shards n); shard-2.json is shard 1/3, the first (shard-1.json) is not a shard')
    expect(() => mergeSimSummaries([of(0, 3), {} as never], files)).toThrow('shard-2.json is not an iotd sim --json summary')
    expect(() => mergeSimSummaries([{} as never, of(0, 3)], files)).toThrow(/^shard-1\.json is not an iotd sim --json summary/)
    expect(() => mergeSimSummaries([of(0, 3), of(1, 3), of(1, 3)], files)).toThrow('shard 2/3 is given twice (shard-2.json, shard-3.json)')
    const backfill = {schemaVersion: 1, kind: 'backfill', seed: 1, from: 'a', to: 'b', rows: 1, shard: {index: 1, count: 3}} as unknown as BackfillSummary
    expect(() => mergeSimSummaries([of(0, 3), backfill as never], files)).toThrow("shard-2.json is a backfill's summary and shard-1.json a live run's: merge the shards of one kind")
    expect(() => mergeBackfillSummaries([backfill, of(0, 3) as never], ['bf-2.json', 'live-1.json'])).toThrow("live-1.json is a live run's summary and bf-2.json a backfill's: merge the shards of one kind")
    expect(() => mergeBackfillSummaries([backfill, {...backfill, shard: {index: 2, count: 3}, to: 'c'}], ['bf-2.json', 'bf-3.json'])).toThrow('bf-3.json covers a .. c, the first (bf-2.json) a .. b: not one data set')
    // The thresholds' warning names a summary that is no shard by its file too.
    const lacking = judgeMergedSummary(mergeSimSummaries([of(0, 2), of(1, 2)]), [base, {...base, thresholds: [{threshold: 'errors==0', ok: true, observed: 0, observedText: '0'}]} as SimSummary], [], ['a.json', 'b.json'])
    expect(lacking.warnings.at(-1)).toContain('a.json recorded none')
  })
})

/**
 * A copy of a scenario with one fleet's count changed, same name and seed: its shard 3/3 merged with shards 1/3 and
 * 2/3 of the original gave "30 devices in 2 fleets" and exit 0, the run of neither file (28 or 34 devices). Only the
 * name and seed were compared; now each shard records its scenario's definition, and the merge compares it.
 */
describe('mergeSimSummaries: one definition of the scenario', () => {
  const ORIGINAL = {fingerprint: 'd321eb3272421941', devices: 3 * 84}
  const EDITED = {fingerprint: '09f8660aa9e3c1ca', devices: 3 * 84 + 6}
  const part = (index: number, definition: {fingerprint: string; devices: number} | undefined, more: Partial<SimSummary> = {}) => ({
    ...makeSummary(),
    shard: {index, count: 3},
    ...(definition && {definition}),
    ...more,
  })

  it('refuses shards of different definitions, naming which shards ran which', () => {
    expect(() => mergeSimSummaries([part(0, ORIGINAL), part(1, ORIGINAL), part(2, EDITED)])).toThrow(
      'the shards ran different definitions of scenario smart-factory (seed 42) (shards 1/3, 2/3: 252 devices in all, fingerprint d321eb3272421941; shard 3/3: 258 devices in all, fingerprint 09f8660aa9e3c1ca): their sum is the run of neither, as the same name and seed over an edited file are other devices; run every shard from one scenario file',
    )
    // Whichever comes first, and with a shard missing too.
    expect(() => mergeSimSummaries([part(2, EDITED), part(0, ORIGINAL)])).toThrow(/^the shards ran different definitions of scenario smart-factory \(seed 42\) \(shard 3\/3: 258 devices in all, fingerprint 09f8660aa9e3c1ca; shard 1\/3: 252/)
  })

  it('keeps the definition of shards that agree, and says nothing about it', () => {
    const merged = mergeSimSummaries([part(0, ORIGINAL), part(1, ORIGINAL), part(2, ORIGINAL)])
    expect(merged.definition).toEqual(ORIGINAL)
    expect(merged.warnings).toEqual([])
    expect(merged.devices).toBe(252)
  })

  it('refuses a whole set of shards whose devices do not add up to their definition', () => {
    expect(() => mergeSimSummaries([part(0, ORIGINAL), part(1, ORIGINAL), part(2, ORIGINAL, {devices: 90})])).toThrow(
      'the 3 shards of scenario smart-factory (seed 42) hold 258 devices together, their definition 252: they did not split one fleet (were they run by different versions of iotd?)',
    )
    // A partial merge holds fewer: the missing shard is warned about, not refused.
    expect(mergeSimSummaries([part(0, ORIGINAL), part(1, ORIGINAL)]).warnings[0]).toBe('shard 3/3 missing: the figures are those of 2 of 3 shards')
  })

  it('warns, without refusing, when shards of an older iotd carry no fingerprint', () => {
    const some = mergeSimSummaries([part(0, ORIGINAL), part(1, undefined), part(2, undefined)])
    expect(some.warnings).toEqual(['shard 2/3, shard 3/3 carry no scenario fingerprint (an older iotd wrote them): nothing but the name and seed shows they ran the definition of scenario smart-factory (seed 42) the others did'])
    expect(some.definition).toBeUndefined()
    const none = mergeSimSummaries([part(0, undefined), part(1, undefined), part(2, undefined)])
    expect(none.warnings).toEqual(['the shards carry no scenario fingerprint (an older iotd wrote them): nothing but the name and seed shows they ran one definition of scenario smart-factory (seed 42)'])
  })

  it('says which shard was interrupted and after how long, not the longest shard\'s time', () => {
    const merged = mergeSimSummaries([part(0, ORIGINAL), part(1, ORIGINAL, {interrupted: true, elapsedMs: 943}), part(2, ORIGINAL)])
    expect(merged.interrupted).toBe(true)
    expect(merged.warnings[0]).toBe('shard 2/3 was interrupted after 943ms — partial summary: its figures end there')
    const text = formatSimSummary(merged, {cores: 2})
    expect(text).toContain('⚠ shard 2/3 was interrupted after 943ms — partial summary: its figures end there')
    expect(text).not.toContain('interrupted after 20s')
    // A single run still says its own time.
    expect(formatSimSummary(makeSummary({interrupted: true, elapsedMs: 943}), {cores: 2})).toContain('⚠ interrupted after 943ms — partial summary')
  })

  it('words the connect time as each shard\'s own, which is all a merge of separate processes knows', () => {
    const merged = mergeSimSummaries([part(0, ORIGINAL, {connectAllMs: 77.6}), part(1, ORIGINAL, {connectAllMs: 12}), part(2, ORIGINAL, {connectAllMs: 30})])
    const text = formatSimSummary(merged, {cores: 2})
    expect(text).toContain('connect       all 252 connected, each shard within 77.6ms of its own first connect')
    expect(text).not.toContain('of the first connect')
    expect(formatSimSummary(makeSummary(), {cores: 2})).toContain('all 84 connected within 210ms of the first connect')
  })
})

describe('mergeBackfillSummaries: one definition of the scenario', () => {
  const backfill = (index: number, fingerprint: string | undefined): BackfillSummary => ({
    schemaVersion: 1,
    kind: 'backfill',
    scenario: 'hvac-commands',
    seed: 77,
    shard: {index, count: 2},
    ...(fingerprint && {definition: {fingerprint, devices: 28}}),
    out: `bf${index}.csv`,
    format: 'csv',
    from: '2026-01-03T00:00:00.000Z',
    to: '2026-01-04T00:00:00.000Z',
    devices: 14,
    modbusDevices: 0,
    rows: 1000,
    suppressed: 0,
    labels: 0,
    elapsedMs: 100,
    interrupted: false,
    warnings: [],
  })

  it('refuses shards of different definitions and keeps the one they agree on', () => {
    expect(() => mergeBackfillSummaries([backfill(0, 'aaaaaaaaaaaaaaaa'), backfill(1, 'bbbbbbbbbbbbbbbb')])).toThrow(/^the shards ran different definitions of scenario hvac-commands \(seed 77\) \(shard 1\/2: 28 devices in all, fingerprint a{16}; shard 2\/2: 28 devices in all, fingerprint b{16}\)/)
    const merged = mergeBackfillSummaries([backfill(0, 'aaaaaaaaaaaaaaaa'), backfill(1, 'aaaaaaaaaaaaaaaa')])
    expect(merged.definition).toEqual({fingerprint: 'aaaaaaaaaaaaaaaa', devices: 28})
    expect(merged.warnings).toEqual([])
    expect(mergeBackfillSummaries([backfill(0, 'aaaaaaaaaaaaaaaa'), backfill(1, undefined)]).warnings).toEqual([
      'shard 2/2 carries no scenario fingerprint (an older iotd wrote it): nothing but the name and seed shows it ran the definition of scenario hvac-commands (seed 77) the others did',
    ])
  })
})
