import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {afterAll, describe, expect, it} from 'vitest'
import {formatTimelineCsv, writeTimelineCsv} from '../../../src/report/timeline-csv.js'
import {e2eResult, T0} from '../../fixtures/report/bench-results.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-timeline-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('formatTimelineCsv', () => {
  it('writes one row per second with a header', () => {
    const result = e2eResult()
    const text = formatTimelineCsv(result)
    const lines = text.trimEnd().split('\n')
    expect(lines[0]).toBe('time,elapsed_s,sent_per_s,received_per_s,p50_ms,p99_ms')
    expect(lines).toHaveLength(11)
    const rows = parse(text, {columns: true}) as Array<Record<string, string>>
    expect(rows[0].time).toBe(new Date(T0).toISOString())
    expect(rows.map((r) => Number(r.elapsed_s))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    rows.forEach((r, i) => {
      const p = result.timeline[i]
      expect(Number(r.sent_per_s)).toBeCloseTo(p.sentPerSec, 1)
      expect(Number(r.received_per_s)).toBeCloseTo(p.receivedPerSec!, 1)
      expect(Number(r.p50_ms)).toBeCloseTo(p.p50!, 3)
      expect(Number(r.p99_ms)).toBeCloseTo(p.p99!, 3)
    })
  })

  it('leaves unknown figures empty rather than 0', () => {
    const result = e2eResult({timeline: [{t: T0, sentPerSec: 500, receivedPerSec: null, p50: null, p99: null}]})
    expect(formatTimelineCsv(result)).toBe(`time,elapsed_s,sent_per_s,received_per_s,p50_ms,p99_ms\n${new Date(T0).toISOString()},0,500,,,\n`)
  })

  it('writes just the header for an empty timeline, and writes files', () => {
    const result = e2eResult({timeline: []})
    expect(formatTimelineCsv(result)).toBe('time,elapsed_s,sent_per_s,received_per_s,p50_ms,p99_ms\n')
    const file = join(dir, 't.csv')
    writeTimelineCsv(file, e2eResult())
    expect(readFileSync(file, 'utf8')).toBe(formatTimelineCsv(e2eResult()))
  })
})
