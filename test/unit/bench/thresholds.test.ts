import {describe, expect, it} from 'vitest'
import {statsFromHistogram, type BenchObservation, type DistributionStats} from '../../../src/metrics/observation.js'
import {
  anyFailed,
  compare,
  evaluateThreshold,
  evaluateThresholds,
  parseThreshold,
  parseThresholds,
  tryParseThreshold,
  type ComparisonOp,
  type ThresholdVerdict,
} from '../../../src/metrics/thresholds.js'
import {formatVerdicts} from '../../../src/report/verdict-lines.js'
import {EXIT_CODES, UsageError} from '../../../src/errors.js'
import {createHistogram, recordMicros} from '../../../src/metrics/histogram.js'

/** Nearest-rank stats over explicit samples (ms), so expected percentiles can be worked out by hand. */
function statsOf(samples: number[]): DistributionStats {
  const sorted = [...samples].sort((a, b) => a - b)
  return {
    count: sorted.length,
    min: sorted[0] ?? 0,
    max: sorted.at(-1) ?? 0,
    avg: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0,
    // The epsilon keeps 99.9 / 100 * 1000 (999.0000000000001 in floating point) at rank 999.
    percentile: (p) => sorted[Math.max(0, Math.ceil((p * sorted.length) / 100 - 1e-9) - 1)],
  }
}

/** 1..1000 ms end to end; uncorrected is a tenth of that; ack 2..4 ms; connect 50..150 ms. */
function observation(overrides: Partial<BenchObservation> = {}): BenchObservation {
  const oneToThousand = Array.from({length: 1000}, (_, i) => i + 1)
  return {
    distributions: {
      latency: statsOf(oneToThousand),
      uncorrected: statsOf(oneToThousand.map((v) => v / 10)),
      ack: statsOf([2, 3, 4]),
      connect: statsOf([50, 100, 150]),
    },
    rate: 49_812,
    loss: 0.0042,
    dup: 0,
    reorder: 0.0001,
    errors: 3,
    dropped: 0,
    ...overrides,
  }
}

function verdict(text: string, obs: BenchObservation = observation()): ThresholdVerdict {
  return evaluateThreshold(parseThreshold(text), obs)
}

function problemOf(text: string): string {
  const r = tryParseThreshold(text)
  if (r.ok) throw new Error(`expected '${text}' to be rejected, got ${r.threshold.text}`)
  return r.problem
}

describe('parseThreshold: aggregations', () => {
  it('reads percentiles of any precision on the default (corrected) latency', () => {
    for (const [text, p] of [
      ['p(50)<1s', 50],
      ['p(90)<1s', 90],
      ['p(99)<1s', 99],
      ['p(99.9)<1s', 99.9],
      ['p(99.99)<1s', 99.99],
      ['p(0)<1s', 0],
      ['p(100)<1s', 100],
    ] as const) {
      expect(parseThreshold(text).subject).toEqual({kind: 'percentile', distribution: 'latency', percentile: p})
    }
  })

  it('reads the distribution stats and the run figures', () => {
    for (const stat of ['avg', 'min', 'max', 'med', 'count'] as const) {
      expect(parseThreshold(`${stat}>0`).subject).toEqual({kind: 'stat', distribution: 'latency', stat})
    }
    for (const figure of ['rate', 'loss', 'dup', 'reorder', 'errors', 'dropped'] as const) {
      expect(parseThreshold(`${figure}>=0`).subject).toEqual({kind: 'run', figure})
    }
  })

  it('chooses the distribution with a prefix', () => {
    expect(parseThreshold('uncorrected.p(99)<20ms').subject).toEqual({kind: 'percentile', distribution: 'uncorrected', percentile: 99})
    expect(parseThreshold('ack.avg<5ms').subject).toEqual({kind: 'stat', distribution: 'ack', stat: 'avg'})
    expect(parseThreshold('connect.p(95)<250ms').subject).toEqual({kind: 'percentile', distribution: 'connect', percentile: 95})
    expect(parseThreshold('connect.count>=1000').subject).toEqual({kind: 'stat', distribution: 'connect', stat: 'count'})
  })

  it('reads every operator', () => {
    const ops: ComparisonOp[] = ['<', '<=', '>', '>=', '==', '!=']
    for (const op of ops) expect(parseThreshold(`errors${op}0`).op).toBe(op)
  })
})

describe('parseThreshold: values and units', () => {
  it('reads latency limits as durations in milliseconds, a bare number as ms', () => {
    expect(parseThreshold('p(99)<20ms').limit).toBe(20)
    expect(parseThreshold('p(99)<1s').limit).toBe(1000)
    expect(parseThreshold('p(99)<500us').limit).toBe(0.5)
    expect(parseThreshold('p(99)<500µs').limit).toBe(0.5)
    expect(parseThreshold('max<1m').limit).toBe(60_000)
    expect(parseThreshold('p(99)<20').limit).toBe(20)
    expect(parseThreshold('avg<0.25').limit).toBe(0.25)
  })

  it('reads rates through the shared rate parser, a bare number as per second, zero allowed', () => {
    expect(parseThreshold('rate>=49500/s').limit).toBe(49_500)
    expect(parseThreshold('rate>=60/m').limit).toBe(1)
    expect(parseThreshold('rate>=49500').limit).toBe(49_500)
    expect(parseThreshold('rate>0').limit).toBe(0)
    expect(parseThreshold('rate>0/s').limit).toBe(0)
  })

  it('reads fractions and percentages', () => {
    expect(parseThreshold('loss<0.001').limit).toBe(0.001)
    expect(parseThreshold('loss<0.1%').limit).toBeCloseTo(0.001, 15)
    expect(parseThreshold('loss<0.1%').valueKind).toBe('percent')
    expect(parseThreshold('dup==0').limit).toBe(0)
    expect(parseThreshold('reorder<=100%').limit).toBe(1)
    expect(parseThreshold('loss<1').limit).toBe(1)
  })

  it('reads counts as whole numbers', () => {
    expect(parseThreshold('errors==0').limit).toBe(0)
    expect(parseThreshold('dropped<100').limit).toBe(100)
    expect(parseThreshold('count>=1000000').limit).toBe(1_000_000)
  })
})

describe('parseThreshold: normalisation', () => {
  it.each([
    ['p(99)<20ms', 'p(99)<20ms'],
    [' p( 99.90 ) <  20 ms ', 'p(99.9)<20ms'],
    ['p(99)<20', 'p(99)<20ms'],
    ['latency.p(99)<20ms', 'p(99)<20ms'],
    ['LATENCY.P(99)<20ms', 'p(99)<20ms'],
    ['Ack.Avg < 5ms', 'ack.avg<5ms'],
    ['uncorrected.med<=1s', 'uncorrected.med<=1s'],
    ['rate >= 49500', 'rate>=49500/s'],
    ['rate>=49500 / s', 'rate>=49500/s'],
    ['loss < 0.1 %', 'loss<0.1%'],
    ['errors == 0', 'errors==0'],
  ])('%j -> %s', (input, normal) => {
    const t = parseThreshold(input)
    expect(t.text).toBe(normal)
    // The normalised text parses back to the same threshold.
    expect(parseThreshold(t.text)).toEqual(t)
  })

  it('keeps the limit as written, with the unit a bare number implies', () => {
    expect(parseThreshold('p(99)<20').limitText).toBe('20ms')
    expect(parseThreshold('loss<0.1%').limitText).toBe('0.1%')
    expect(parseThreshold('rate>=3000/m').limitText).toBe('3000/m')
  })

  it('parses a list and throws a UsageError naming the origin', () => {
    expect(parseThresholds(['p(99)<20ms', 'loss<0.001']).map((t) => t.text)).toEqual(['p(99)<20ms', 'loss<0.001'])
    expect(() => parseThresholds(['p(99)<20ms', 'p(99)<<20ms'])).toThrow("--threshold 'p(99)<<20ms': expected a number after '<'")
    expect(() => parseThreshold('nope<1', 'thresholds[0]')).toThrow(/^thresholds\[0\] 'nope<1': unknown aggregation 'nope'/)
  })
})

describe('parseThreshold: malformed thresholds', () => {
  it.each([
    ['p(99)<<20ms', "expected a number after '<'"],
    ['', 'empty threshold; expected e.g. p(99)<20ms'],
    ['   ', 'empty threshold; expected e.g. p(99)<20ms'],
    ['<20ms', "expected an aggregation such as p(99), avg or loss at the start, found '<20ms'"],
    ['p99<20ms', "'p99' needs parentheses: p(99)"],
    ['ack.p99<20ms', "'ack.p99' needs parentheses: ack.p(99)"],
    ['p<20ms', "expected '(' after 'p', e.g. p(99)"],
    ['p()<20ms', 'expected a percentile from 0 to 100 between the parentheses, e.g. p(99)'],
    ['p(-1)<20ms', 'expected a percentile from 0 to 100 between the parentheses, e.g. p(99)'],
    ['p(99<20ms', "expected ')' after 'p(99'"],
    ['p(101)<20ms', 'percentile 101 is above 100; e.g. p(99.9)'],
    ['p(99)', "expected an operator (<, <=, >, >=, ==, !=) after 'p(99)'"],
    ['p(99) 20ms', "expected an operator (<, <=, >, >=, ==, !=) after 'p(99)', found '20ms'"],
    ['p(99)=20ms', "'=' is not an operator; use '==' for equality"],
    ['p(99)=<20ms', "'=<' is not an operator; write '<='"],
    ['p(99)=>20ms', "'=>' is not an operator; write '>='"],
    ['p(99)<', "expected a number after '<'"],
    ['p(99)<-5ms', "expected a number after '<'"],
    ['p(99)<20xs', "'20xs' is not a duration (try 500us, 20ms, 1s)"],
    ['p(99)<20/s', "'20/s' is not a duration (try 500us, 20ms, 1s)"],
    ['mean<20ms', "unknown aggregation 'mean'; did you mean avg?"],
    ['conn_p(99)<20ms', "unknown aggregation 'conn_p'; did you mean connect.p(N)?"],
    ['foo<1', "unknown aggregation 'foo'; expected one of p(N), avg, min, max, med, count, rate, loss, dup, reorder, errors, dropped"],
    ['foo.p(99)<1ms', "unknown metric 'foo'; expected latency, uncorrected, ack or connect before the '.'"],
    ['ack.<1ms', "expected an aggregation after 'ack.', e.g. ack.p(99)"],
    ['ack.latency.p(99)<1ms', "'ack.latency' has two metric prefixes; keep one of latency, uncorrected, ack, connect"],
    ['ack.loss<0.1', "'loss' is a figure of the whole run and takes no metric prefix; drop 'ack.'"],
    ['rate>=fast', "expected a number after '>='"],
    ['rate>=100/x', "'100/x' is not a rate (try 49500/s or 3000/m)"],
    ['loss<2', "'2' is more than 1; write a fraction from 0 to 1 (0.001) or a percentage (0.1%)"],
    ['loss<150%', "'150%' is more than 100%; write a fraction from 0 to 1 (0.001) or a percentage (0.1%)"],
    ['loss<1ms', "'1ms' is not a fraction (try 0.001 or 0.1%)"],
    ['errors<1.5', "'1.5' is not a whole number"],
    ['count>1k', "'1k' is not a whole number"],
    ['p(99)<20ms and loss<1', "'20ms and loss<1' is not a duration (try 500us, 20ms, 1s)"],
  ])('%j: %s', (input, message) => {
    expect(problemOf(input)).toBe(message)
  })

  it('throws a UsageError (exit 2) with the text as written and a suggestion', () => {
    let caught: unknown
    try {
      parseThreshold('p(99)<<20ms')
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(UsageError)
    const err = caught as UsageError
    expect(err.message).toBe("--threshold 'p(99)<<20ms': expected a number after '<'")
    expect(err.exitCode).toBe(EXIT_CODES.usage)
    expect(err.suggestions).toEqual(['p(99)<20ms'])
  })
})

describe('evaluateThresholds', () => {
  it('evaluates every aggregation against its figure', () => {
    const cases: Array<[string, number, string]> = [
      ['p(99)<1s', 990, '990ms'],
      ['p(50)<=500', 500, '500ms'],
      ['p(99.9)<1s', 999, '999ms'],
      ['med<600ms', 500, '500ms'],
      ['avg<600ms', 500.5, '501ms'],
      ['min>=1ms', 1, '1.0ms'],
      ['max<=1s', 1000, '1.00s'],
      ['count==1000', 1000, '1,000'],
      ['uncorrected.p(99)<100ms', 99, '99.0ms'],
      ['ack.max<5ms', 4, '4.0ms'],
      ['connect.p(50)<=100ms', 100, '100ms'],
      ['connect.count==3', 3, '3'],
      ['rate>=49500/s', 49_812, '49,812/s'],
      ['loss<0.01', 0.0042, '0.0042'],
      ['dup==0', 0, '0'],
      ['reorder<0.1%', 0.0001, '0.01%'],
      ['errors<5', 3, '3'],
      ['dropped==0', 0, '0'],
    ]
    const verdicts = evaluateThresholds(
      cases.map(([t]) => parseThreshold(t)),
      observation(),
    )
    verdicts.forEach((v, i) => {
      const [text, observed, observedText] = cases[i]
      expect({text, ok: v.ok, observed: v.observed, observedText: v.observedText}).toEqual({text, ok: true, observed, observedText})
    })
    expect(anyFailed(verdicts)).toBe(false)
  })

  it('fails what is out of bounds, and says so with the observed value', () => {
    expect(verdict('p(99)<20ms')).toEqual({threshold: 'p(99)<20ms', ok: false, observed: 990, observedText: '990ms', limitText: '20ms'})
    expect(verdict('loss<0.001')).toMatchObject({ok: false, observed: 0.0042, observedText: '0.0042', limitText: '0.001'})
    expect(verdict('loss<0.1%')).toMatchObject({ok: false, observedText: '0.42%'})
    expect(verdict('rate>=50000/s')).toMatchObject({ok: false, observedText: '49,812/s'})
    expect(verdict('errors==0')).toMatchObject({ok: false, observed: 3})
    expect(anyFailed([verdict('errors<5'), verdict('errors==0')])).toBe(true)
  })

  it('applies each operator at, below and above the limit', () => {
    const table: Array<[ComparisonOp, boolean, boolean, boolean]> = [
      // op, below, equal, above
      ['<', true, false, false],
      ['<=', true, true, false],
      ['>', false, false, true],
      ['>=', false, true, true],
      ['==', false, true, false],
      ['!=', true, false, true],
    ]
    for (const [op, below, equal, above] of table) {
      expect([compare(2, op, 3), compare(3, op, 3), compare(4, op, 3)]).toEqual([below, equal, above])
      expect(verdict(`errors${op}3`, observation({errors: 3})).ok).toBe(equal)
    }
  })

  it('treats floats a rounding error apart as equal', () => {
    expect(0.1 + 0.2 === 0.3).toBe(false)
    expect(verdict('loss==0.3', observation({loss: 0.1 + 0.2})).ok).toBe(true)
    expect(verdict('loss<0.3', observation({loss: 0.1 + 0.2})).ok).toBe(false)
    expect(verdict('loss<=0.3', observation({loss: 0.1 + 0.2})).ok).toBe(true)
    expect(verdict('loss!=0.3', observation({loss: 0.1 + 0.2})).ok).toBe(false)
    expect(verdict('loss==0.1%', observation({loss: 1 / 1000})).ok).toBe(true)
    // A real difference is still one.
    expect(verdict('loss==0.3', observation({loss: 0.3001})).ok).toBe(false)
  })

  it('fails a latency threshold with no samples instead of passing vacuously', () => {
    const empty = observation({distributions: {latency: statsOf([])}})
    for (const text of ['p(99)<20ms', 'avg<20ms', 'min<20ms', 'max<20ms', 'med<20ms', 'p(99)!=1ms', 'ack.p(99)<5ms']) {
      const v = verdict(text, empty)
      expect(v.ok, text).toBe(false)
      expect(v.observedText).toBe('no samples')
      expect(Number.isNaN(v.observed)).toBe(true)
    }
    // count has a value with no samples: zero.
    expect(verdict('count==0', empty)).toMatchObject({ok: true, observed: 0})
    expect(verdict('ack.count>0', empty)).toMatchObject({ok: false, observed: 0})
  })

  it('fails a figure the mode does not measure', () => {
    const publishOnly = observation({loss: undefined, dup: undefined, reorder: undefined})
    for (const text of ['loss<0.001', 'dup==0', 'reorder<1%']) {
      expect(verdict(text, publishOnly)).toMatchObject({ok: false, observedText: 'not measured'})
    }
  })

  it('shows enough digits when the observed value rounds to the limit', () => {
    const at = (ms: number) => observation({distributions: {latency: statsOf([ms])}})
    expect(verdict('p(99)<20ms', at(20.015))).toMatchObject({ok: false, observedText: '20.015ms'})
    expect(verdict('p(99)<20ms', at(20))).toMatchObject({ok: false, observedText: '20.0ms'})
    expect(verdict('p(99)<500us', at(0.5004))).toMatchObject({ok: false, observedText: '0.5004ms'})
    expect(verdict('rate>=49500/s', observation({rate: 49_499.6}))).toMatchObject({ok: false, observedText: '49499.6/s'})
    expect(verdict('rate>=49500/s', observation({rate: 49_500}))).toMatchObject({ok: true, observedText: '49,500/s'})
  })

  it('reads percentiles from a real HDR histogram (µs) in milliseconds', () => {
    const h = createHistogram()
    const empty = createHistogram()
    try {
      for (let i = 1; i <= 1000; i++) recordMicros(h, i * 1000)
      const obs = observation({distributions: {latency: statsFromHistogram(h), connect: statsFromHistogram(empty)}})
      const v = verdict('p(99)<=1s', obs)
      expect(v.ok).toBe(true)
      // 3 significant digits: 990 ms is recorded within 0.1%.
      expect(v.observed).toBeGreaterThanOrEqual(989)
      expect(v.observed).toBeLessThanOrEqual(991)
      expect(verdict('count==1000', obs).ok).toBe(true)
      expect(verdict('min<=1ms', obs).ok).toBe(true)
      expect(verdict('connect.p(99)<1s', obs).observedText).toBe('no samples')
    } finally {
      h.destroy()
      empty.destroy()
    }
  })
})

describe('formatVerdicts', () => {
  const verdicts = [verdict('p(99)<=1s'), verdict('loss<0.001'), verdict('errors==0')]

  it('prints k6-style lines, thresholds aligned, verdict marks first', () => {
    expect(formatVerdicts(verdicts)).toBe(
      ['✓ p(99)<=1s   observed 990ms', '✗ loss<0.001  observed 0.0042', '✗ errors==0   observed 3'].join('\n'),
    )
    expect(formatVerdicts(verdicts, {indent: '  '}).split('\n').every((l) => l.startsWith('  '))).toBe(true)
    expect(formatVerdicts([])).toBe('')
  })

  it('has no escape codes without colour and colours the marks with it', () => {
    // eslint-disable-next-line no-control-regex
    const escape = /\u001b\[/
    expect(escape.test(formatVerdicts(verdicts, {color: false}))).toBe(false)
    const coloured = formatVerdicts(verdicts, {color: true})
    expect(escape.test(coloured)).toBe(true)
    // eslint-disable-next-line no-control-regex
    expect(coloured.replace(/\u001b\[[0-9;]*m/g, '')).toBe(formatVerdicts(verdicts))
  })

  it('decides the exit: 99 only when a threshold failed', () => {
    const exitFor = (vs: ThresholdVerdict[]) => (anyFailed(vs) ? EXIT_CODES.thresholds : EXIT_CODES.ok)
    expect(exitFor(verdicts)).toBe(99)
    expect(exitFor([verdicts[0]])).toBe(0)
    expect(exitFor([])).toBe(0)
  })
})
