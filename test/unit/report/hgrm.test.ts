import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {UsageError} from '../../../src/errors.js'
import {formatHgrm, hgrmForResult, parseHgrm, writeHgrm} from '../../../src/report/hgrm.js'
import {createHistogram, recordMicros} from '../../../src/metrics/histogram.js'
import {e2eResult, histogramOfMicros, latencySamples} from '../../fixtures/report/bench-results.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-hgrm-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('formatHgrm', () => {
  const samples = latencySamples(10_000, 3)
  const encoded = histogramOfMicros(samples).encoded
  const text = formatHgrm(encoded)
  const rows = parseHgrm(text)

  it("writes HdrHistogram's header, rows and footer", () => {
    const lines = text.split('\n')
    expect(lines[0]).toBe('       Value     Percentile TotalCount 1/(1-Percentile)')
    expect(lines[1]).toBe('')
    expect(text).toMatch(/^#\[Mean {4}= +\d+\.\d{3}, StdDeviation {3}= +\d+\.\d{3}\]$/m)
    expect(text).toMatch(/^#\[Max {5}= +\d+\.\d{3}, Total count {4}= +10000\]$/m)
    expect(text).toMatch(/^#\[Buckets = +\d+, SubBuckets {5}= +\d+\]$/m)
    // every data row: value, percentile (12 decimals), count, 1/(1-p) (2 decimals) except the 100% row
    const dataLines = lines.filter((l) => /^\s+\d/.test(l))
    expect(dataLines.length).toBe(rows.length)
    for (const l of dataLines.slice(0, -1)) expect(l).toMatch(/^ +\d+\.\d{3} \d\.\d{12} +\d+ +\d+\.\d{2}$/)
    expect(dataLines.at(-1)).toMatch(/^ +\d+\.\d{3} 1\.000000000000 +10000$/)
  })

  it('prints milliseconds that match the histogram within its 3-digit precision', () => {
    const h = createHistogram()
    for (const v of samples) recordMicros(h, v)
    for (const p of [0.5, 0.9, 0.99, 0.999]) {
      const row = rows.find((r) => r.percentile >= p)!
      // the row sits at the first iteration step at or past p; its value is the histogram's value there
      expect(row.valueMs).toBeCloseTo(h.getValueAtPercentile(row.percentile * 100) / 1000, 2)
    }
    const sorted = [...samples].sort((a, b) => a - b)
    const median = sorted[Math.floor(sorted.length / 2)] / 1000
    const p50 = rows.find((r) => r.percentile >= 0.5)!.valueMs
    expect(Math.abs(p50 - median) / median).toBeLessThan(0.002)
    expect(rows.at(-1)!.totalCount).toBe(10_000)
    expect(rows.at(-1)!.valueMs).toBeCloseTo(Math.max(...samples) / 1000, 0)
    h.destroy()
  })

  it('prints fractions with leading zeros and carries correctly (the WebAssembly formatter does neither)', () => {
    const exact = parseHgrm(formatHgrm(histogramOfMicros([1077, 1077, 19_999, 19_999]).encoded))
    expect(exact[0].valueMs).toBe(1.077)
    expect(exact.at(-1)!.valueMs).toBe(19.999)
    // 1/(1-0.95) is 19.999999999999982 in floating point: two decimals must carry it to 20.00
    expect(text).toMatch(/ 0\.950000000000 +\d+ +20\.00\n/)
    expect(formatHgrm(histogramOfMicros([1077]).encoded)).toContain('       1.077 1.000000000000          1\n')
  })

  it('is monotonic in value, percentile and count, as a plotter expects', () => {
    for (let i = 1; i < rows.length; i++) {
      expect(rows[i].valueMs).toBeGreaterThanOrEqual(rows[i - 1].valueMs)
      expect(rows[i].percentile).toBeGreaterThan(rows[i - 1].percentile)
      expect(rows[i].totalCount).toBeGreaterThanOrEqual(rows[i - 1].totalCount)
    }
    expect(rows[0].inverse).toBe(1)
    expect(rows.at(-1)!.inverse).toBe(Infinity)
  })
})

describe('hgrmForResult and writeHgrm', () => {
  const result = e2eResult()

  it("uses the mode's headline distribution unless told otherwise", () => {
    const latency = parseHgrm(hgrmForResult(result))
    const ack = parseHgrm(hgrmForResult(result, 'ack'))
    expect(latency.at(-1)!.totalCount).toBe(20_000)
    expect(ack.at(-1)!.totalCount).toBe(5_000)
    const pub = {...result, meta: {...result.meta, mode: 'pub' as const}}
    expect(parseHgrm(hgrmForResult(pub)).at(-1)!.totalCount).toBe(5_000)
  })

  it('refuses a distribution the run did not record, naming the ones it did', () => {
    expect(() => hgrmForResult(result, 'connect')).toThrow(UsageError)
    expect(() => hgrmForResult(result, 'connect')).toThrow('this e2e run recorded no connect distribution')
  })

  it('names the histogram that cannot be decoded', () => {
    const broken = {...result, histograms: {latency: {...result.histograms.latency!, encoded: 'AAAA'}}}
    expect(() => hgrmForResult(broken)).toThrow(/^histograms\.latency\.encoded is not a readable HDR histogram/)
  })

  it('writes the file', () => {
    const file = join(dir, 'run.hgrm')
    writeHgrm(file, result)
    expect(readFileSync(file, 'utf8')).toBe(hgrmForResult(result))
  })
})
