import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {z} from 'zod'
import {ConfigError, IotdError} from '../../../src/errors.js'
import {
  benchResultJsonSchemaText,
  encodedHistogram,
  headlineDistribution,
  loadBenchResult,
  lossFraction,
  measuredWindowMs,
  parseBenchResult,
  redactCommandLine,
  summarizeMs,
  toJson,
  verdictRecord,
  type BenchResult,
} from '../../../src/bench/bench-result.js'
import {createHistogram, recordMicros} from '../../../src/metrics/histogram.js'
import {locateJsonSyntaxError} from '../../../src/config/json-positions.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const SCHEMA_FILE = join(root, 'schemas/bench-result.schema.json')

/** An encoded histogram of `values` (µs), as a bench run stores it. */
function histogramOf(values: readonly number[]) {
  const h = createHistogram()
  for (const v of values) recordMicros(h, v)
  const out = encodedHistogram(h)
  h.destroy()
  return out
}

function sampleResult(): BenchResult {
  return {
    schemaVersion: 1,
    meta: {
      tool: {name: 'iotd', version: '0.1.0'},
      commandLine: ['bench', '--rate', '1000/s', '--duration', '10s'],
      brokers: ['mqtt://plant-broker:1883'],
      mode: 'e2e',
      mqttVersion: '3.1.1',
      qos: 1,
      payloadBytes: 100,
      clients: {publishers: 2, subscribers: 1, total: 3},
      target: {model: 'open', ratePerSec: 1000, text: '1000/s'},
      shard: {index: 0, count: 3},
      startedAt: '2026-11-02T10:00:00.000Z',
      endedAt: '2026-11-02T10:00:12.000Z',
      warmupMs: 2000,
    },
    counts: {planned: 10_000, sent: 9_990, acked: 9_990, expected: 9_990, received: 9_980, lost: 10, duplicated: 0, reordered: 3, dropped: 10, late: 4, errors: 0},
    rate: {targetPerSec: 1000, achievedPerSec: 999, receivedPerSec: 998},
    brokerCount: {source: '$SYS/broker/publish/messages/received', received: 10_020, client: 9_990, disagreementPct: 0.3},
    health: {cpuPercent: 35.5, rssBytes: 120_000_000, eventLoopLagP99Ms: 2.1, cores: 2},
    thresholds: [verdictRecord({threshold: 'p(99)<20ms', ok: true, observed: 4.2, observedText: '4.2ms', limitText: '20ms'})],
    timeline: [
      {t: Date.parse('2026-11-02T10:00:02.000Z'), sentPerSec: 1000, receivedPerSec: 999, p50: 1.2, p99: 4.1, histogram: histogramOf([1200, 4100]).encoded},
      {t: Date.parse('2026-11-02T10:00:03.000Z'), sentPerSec: 998, receivedPerSec: 998, p50: null, p99: null},
    ],
    histograms: {
      latency: histogramOf([800, 1200, 1500, 4100, 250_000]),
      uncorrected: histogramOf([700, 1100, 1400, 3900, 9_000]),
      ack: histogramOf([300, 400, 900]),
    },
  }
}

describe('schemas/bench-result.schema.json', () => {
  it('is what scripts/generate-bench-schema.ts produces now (run `npx tsx scripts/generate-bench-schema.ts`)', () => {
    expect(readFileSync(SCHEMA_FILE, 'utf8')).toBe(benchResultJsonSchemaText())
  })

  it('accepts what toJson writes and rejects a result with a negative count or an unknown mode', () => {
    const validator = z.fromJSONSchema(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as z.core.JSONSchema.JSONSchema)
    const written: unknown = JSON.parse(toJson(sampleResult()))
    expect(validator.safeParse(written).success).toBe(true)

    const broken = JSON.parse(toJson(sampleResult())) as {counts: {sent: number}; meta: {mode: string}}
    broken.counts.sent = -1
    expect(validator.safeParse(broken).success).toBe(false)
    const badMode = JSON.parse(toJson(sampleResult())) as {meta: {mode: string}}
    badMode.meta.mode = 'flood'
    expect(validator.safeParse(badMode).success).toBe(false)
  })
})

describe('toJson / parseBenchResult', () => {
  it('round-trips a result exactly', () => {
    const result = sampleResult()
    expect(parseBenchResult(toJson(result), 'r.json')).toEqual(result)
  })

  it('masks a broker password and secret flags even when the caller forgot', () => {
    const result = sampleResult()
    result.meta.brokers = ['mqtt://bench:s3cret@broker:1883']
    result.meta.commandLine = ['bench', '--broker', 'mqtts://u:p4ss@host', '--password', 'hunter2', '--tls-key-passphrase=abc']
    const text = toJson(result)
    expect(text).not.toMatch(/s3cret|p4ss|hunter2|abc/)
    const back = parseBenchResult(text, 'r.json')
    expect(back.meta.brokers).toEqual(['mqtt://bench:***@broker:1883'])
    expect(back.meta.commandLine).toEqual(['bench', '--broker', 'mqtts://u:***@host', '--password', '***', '--tls-key-passphrase=***'])
  })

  it('refuses to write a result that could not be read back', () => {
    const result = sampleResult()
    result.rate.achievedPerSec = Number.NaN
    expect(() => toJson(result)).toThrow(IotdError)
    expect(() => toJson(result)).toThrow(/rate\.achievedPerSec/)
  })

  it('gives file:line:col for JSON syntax errors, which Node 20 does not always report', () => {
    const text = '{\n  "schemaVersion": 1,\n  "meta": }\n'
    expect(() => parseBenchResult(text, 'r.json')).toThrow(ConfigError)
    expect(() => parseBenchResult(text, 'r.json')).toThrow("r.json:3:11: not valid JSON: unexpected \"}\" where a value should be")
    expect(() => parseBenchResult('{"a": 1,\n', 'r.json')).toThrow('r.json:2:1: not valid JSON: expected a property name in double quotes')
    expect(() => parseBenchResult('{"a": "open', 'r.json')).toThrow('r.json:1:7: not valid JSON: unterminated string')
    expect(() => parseBenchResult('{} {}', 'r.json')).toThrow('r.json:1:4: not valid JSON: unexpected text after the end of the document')
    expect(() => parseBenchResult('', 'r.json')).toThrow('r.json:1:1: not valid JSON: unexpected end of the file')
  })

  it('names the JSON path and its line of a value that does not validate', () => {
    const text = toJson(sampleResult()).replace('"sent": 9990', '"sent": "many"')
    const line = text.split('\n').findIndex((l) => l.includes('"sent": "many"')) + 1
    try {
      parseBenchResult(text, 'r.json')
      expect.unreachable('should have thrown')
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      const problems = (error as ConfigError).problems
      expect(problems).toHaveLength(1)
      expect(problems[0]).toMatchObject({file: 'r.json', path: 'counts.sent', line, col: 13})
      expect(problems[0].message).toMatch(/^counts\.sent: .*expected number/)
    }
  })

  it('reports a missing key at its parent', () => {
    const result = JSON.parse(toJson(sampleResult())) as {counts: Record<string, unknown>}
    delete result.counts.received
    expect(() => parseBenchResult(JSON.stringify(result), 'r.json')).toThrow('missing key "received" in counts')
    // zod words a missing enum or union member differently; it is still a missing key.
    const noQos = JSON.parse(toJson(sampleResult())) as {meta: Record<string, unknown>}
    delete noQos.meta.qos
    expect(() => parseBenchResult(JSON.stringify(noQos), 'r.json')).toThrow('r.json:1:27: missing key "qos" in meta')
  })

  it('reports every problem, not just the first', () => {
    const result = JSON.parse(toJson(sampleResult())) as {meta: {qos: number; shard: {index: number}}}
    result.meta.qos = 3
    result.meta.shard.index = 5
    const error = (() => {
      try {
        parseBenchResult(JSON.stringify(result), 'r.json')
      } catch (e) {
        return e as ConfigError
      }
    })()
    expect(error?.problems.map((p) => p.path).sort()).toEqual(['meta.qos', 'meta.shard.index'])
  })

  it('says what is wrong with a file that is not a result, or is from a newer iotd', () => {
    expect(() => parseBenchResult('[1, 2]', 'r.json')).toThrow('expected a JSON object')
    expect(() => parseBenchResult('{"version": 1}', 'r.json')).toThrow('no schemaVersion')
    expect(() => parseBenchResult('{\n  "schemaVersion": 2\n}', 'r.json')).toThrow('r.json:2:20: schemaVersion 2 was written by a newer iotd; this one reads version 1')
  })

  it('ignores keys it does not know, so a newer version-1 file still reads', () => {
    const result = JSON.parse(toJson(sampleResult())) as Record<string, unknown>
    result.futureField = {x: 1}
    expect(parseBenchResult(JSON.stringify(result), 'r.json').counts.sent).toBe(9990)
  })
})

describe('loadBenchResult', () => {
  it('reads a saved file and names a missing one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-bench-result-'))
    try {
      const file = join(dir, 'result.json')
      writeFileSync(file, toJson(sampleResult()))
      expect(loadBenchResult(file).meta.mode).toBe('e2e')
      expect(() => loadBenchResult(join(dir, 'absent.json'))).toThrow(`${join(dir, 'absent.json')}: file not found`)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('locateJsonSyntaxError', () => {
  it('points at the character that breaks the document', () => {
    expect(locateJsonSyntaxError('{"a": 1 "b": 2}')).toEqual({offset: 8, message: "expected ',' or '}' after a property value"})
    expect(locateJsonSyntaxError('[1, 2,]')).toEqual({offset: 6, message: 'unexpected "]" where a value should be'})
    expect(locateJsonSyntaxError('{"a": "x\ny"}').message).toBe('control character (e.g. a line break) inside a string')
    expect(locateJsonSyntaxError('{"a": "\\q"}')).toEqual({offset: 6, message: 'invalid escape sequence in a string'})
    expect(locateJsonSyntaxError('{"a": -}')).toEqual({offset: 6, message: 'invalid number'})
  })
})

describe('redactCommandLine', () => {
  it('masks secret flag values and URL passwords and leaves the rest alone', () => {
    expect(redactCommandLine(['bench', '--password', 'pw', '--api-token=t', '--rate', '10/s', 'mqtt://a:b@h'])).toEqual([
      'bench',
      '--password',
      '***',
      '--api-token=***',
      '--rate',
      '10/s',
      'mqtt://a:***@h',
    ])
    const once = redactCommandLine(['--password', 'pw'])
    expect(redactCommandLine(once)).toEqual(once)
  })
})

describe('summaries and small figures', () => {
  it('keeps the exact min and max and adds p99.99', () => {
    const h = createHistogram()
    for (let i = 1; i <= 100_000; i++) recordMicros(h, i)
    recordMicros(h, 4_405_015)
    const s = summarizeMs(h)
    h.destroy()
    expect(s.count).toBe(100_001)
    expect(s.min).toBe(0.001)
    expect(s.max).toBe(4405.015)
    expect(s.p9999).toBeGreaterThan(99.9)
    expect(s.p9999).toBeLessThan(100.1)
  })

  it('summarises an empty histogram as zeros', () => {
    const h = createHistogram()
    expect(summarizeMs(h)).toEqual({count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, p9999: 0, max: 0})
    h.destroy()
  })

  it('stores an unmeasured threshold value as null', () => {
    expect(verdictRecord({threshold: 'ack.p(99)<5ms', ok: false, observed: Number.NaN, observedText: 'no samples', limitText: '5ms'}).observed).toBeNull()
  })

  it('derives the measured window, the loss fraction and the headline distribution', () => {
    const r = sampleResult()
    expect(measuredWindowMs(r.meta)).toBe(10_000)
    expect(lossFraction(r.counts)).toBeCloseTo(10 / 9990, 12)
    expect(lossFraction({...r.counts, lost: null})).toBeNull()
    expect(headlineDistribution('e2e')).toBe('latency')
    expect(headlineDistribution('sub')).toBe('latency')
    expect(headlineDistribution('pub')).toBe('ack')
    expect(headlineDistribution('conn')).toBe('connect')
  })
})

describe('parseBenchResult on a file wrong everywhere', () => {
  it('lists the first 20 problems, each at its line, and says how many more there are', () => {
    const result = JSON.parse(toJson(sampleResult())) as {timeline: unknown[]}
    result.timeline = Array.from({length: 30}, (_v, i) => ({t: -i}))
    const text = JSON.stringify(result, null, 1)
    try {
      parseBenchResult(text, 'r.json')
      expect.unreachable('should have thrown')
    } catch (error) {
      const problems = (error as ConfigError).problems
      expect(problems).toHaveLength(20)
      expect((error as ConfigError).more).toBeGreaterThan(0)
      expect((error as ConfigError).message).toMatch(/\n… and \d+ more problems$/)
      const lines = text.split('\n')
      for (const p of problems.slice(0, 20)) expect(p.path).toMatch(/^timeline\[\d+\]/)
      const negative = problems.find((p) => p.path === 'timeline[1].t')
      expect(negative?.line).toBe(lines.findIndex((l) => l.includes('"t": -1')) + 1)
      // A missing key points at its object: timeline[1] opens on the line before its "t".
      const missing = problems.find((p) => p.path === 'timeline[1].sentPerSec')
      expect(missing?.line).toBe((negative?.line ?? 0) - 1)
    }
  })
})
