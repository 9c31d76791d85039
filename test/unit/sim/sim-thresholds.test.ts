import {describe, expect, it} from 'vitest'
import {createHistogram, recordMicros} from '../../../src/metrics/histogram.js'
import {deliveredCount, evaluateSimThresholds, parseSimThresholds} from '../../../src/sim/sim-thresholds.js'
import {emptyCounters} from '../../../src/sim/types.js'

// #13 item 1: sim's thresholds are bench's grammar over sim's figures.
describe('sim thresholds', () => {
  const totals = {...emptyCounters('total'), target: 10, connected: 8, published: 90, acked: 40, dropped: 10, errors: 3, late: 2}
  const lag = createHistogram()
  for (let i = 1; i <= 100; i++) recordMicros(lag, i * 1000)

  it('judges connected and delivered as shares, errors/dropped/late as counts, lag/ack/connect as distributions', () => {
    const verdicts = evaluateSimThresholds(
      parseSimThresholds(['connected>=80%', 'connected==100%', 'delivered>=0.8', 'errors==0', 'dropped<=10', 'late<3', 'lag.p(99)<=100ms', 'p(50)<49ms', 'ack.p(99)<1s']),
      {totals, delivered: 80, publishLag: lag, ackLatency: createHistogram(), connectLatency: createHistogram()},
    )
    expect(verdicts.map((v) => [v.threshold, v.ok, v.observedText])).toEqual([
      ['connected>=80%', true, '80%'],
      ['connected==100%', false, '80%'],
      // 80 of 100 due (90 sent + 10 dropped) reached the broker.
      ['delivered>=0.8', true, '0.8'],
      ['errors==0', false, '3'],
      ['dropped<=10', true, '10'],
      ['late<3', true, '2'],
      ['p(99)<=100ms', true, expect.stringMatching(/^99(\.\d+)?ms$/)],
      ['p(50)<49ms', false, expect.stringMatching(/^50(\.\d+)?ms$/)],
      // No QoS 1/2 message was acknowledged: an SLO never passes because nothing was measured.
      ['ack.p(99)<1s', false, 'no samples'],
    ])
  })

  it('delivered counts QoS 0 fleets by what was sent and QoS 1/2 fleets by what was acknowledged', () => {
    const fleets = [
      {...emptyCounters('q0'), published: 50, acked: 0},
      {...emptyCounters('q1'), published: 40, acked: 30},
    ]
    expect(deliveredCount(fleets, (f) => (f === 'q0' ? 0 : 1))).toBe(80)
  })

  it('bench-only names are refused with a did-you-mean', () => {
    expect(() => parseSimThresholds(['loss<1%'])).toThrow("unknown aggregation 'loss'; did you mean delivered?")
    expect(() => parseSimThresholds(['uncorrected.p(99)<1ms'])).toThrow("unknown metric 'uncorrected'; expected lag, ack or connect before the '.'")
  })
})
