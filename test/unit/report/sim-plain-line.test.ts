import {stripVTControlCharacters} from 'node:util'
import {describe, expect, it} from 'vitest'
import {formatSimPlainLine} from '../../../src/report/sim-plain-line.js'
import {latency, makeSnapshot} from '../../fixtures/report/sim-data.js'

describe('formatSimPlainLine', () => {
  it('shows time, stage, connected, rate and counters on one line', () => {
    const line = formatSimPlainLine(makeSnapshot(5))
    expect(line).toBe(
      'sim 5s/20s  steady  84/84 connected  84.0 msg/s  420 published  15 late  0 dropped  0 errors  0 reconnects  ' +
        'lag p99 3.2ms  ack p99 10.0ms  cpu 12%  rss 98 MiB  loop p99 2.1ms',
    )
    expect(line).not.toContain('\n')
  })

  it('omits the planned length of an unbounded run and the ack figure without QoS 1/2', () => {
    const line = formatSimPlainLine(makeSnapshot(1, {durationMs: undefined, ackLatency: latency(0, 0)}))
    expect(line.startsWith('sim 1s  ramp 67%  ')).toBe(true)
    expect(line).not.toContain('ack p99')
  })

  it('has no escape codes unless colour is asked for', () => {
    const snapshot = makeSnapshot(5)
    expect(formatSimPlainLine(snapshot)).not.toContain('\x1b[')
    const coloured = formatSimPlainLine(snapshot, {color: true})
    expect(coloured).toContain('\x1b[33m15 late')
    expect(stripVTControlCharacters(coloured)).toBe(formatSimPlainLine(snapshot))
  })
})
