import {stripVTControlCharacters} from 'node:util'
import {describe, expect, it} from 'vitest'
import {closingSimSnapshot, formatSimPlainLine} from '../../../src/report/sim-plain-line.js'
import {formatSimSummary} from '../../../src/report/sim-summary.js'
import {latency, makeSnapshot, makeSummary, sumCounters} from '../../fixtures/report/sim-data.js'

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

  it('command figures add up: received = applied + failed + ignored + waiting, then the replies', () => {
    const s = makeSnapshot(5)
    const commands = {commandsReceived: 11, commandsApplied: 2, commandsFailed: 5, commandsIgnored: 1, commandsReplied: 5, commandsReplyLost: 1}
    const line = formatSimPlainLine({...s, totals: {...s.totals, ...commands}})
    // 3 still wait for their latency: 2 + 5 + 1 + 3 = 11.
    expect(line).toContain('  0 reconnects  11 commands (2 applied, 5 failed, 1 ignored, 3 waiting; 5 replied, 1 reply not sent)  lag p99')
    // None waiting, no reply lost: those figures are left out, the others stay.
    const settled = formatSimPlainLine({...s, totals: {...s.totals, ...commands, commandsReceived: 8, commandsReplyLost: 0}})
    expect(settled).toContain('  8 commands (2 applied, 5 failed, 1 ignored; 5 replied)  ')
    expect(formatSimPlainLine({...s, totals: {...s.totals, ...commands}}, {color: true})).toContain('\x1b[33m5 failed')
    // Messages that reached a device going down for a reboot were received and not taken: 2 + 5 + 1 + 3 = 11, none waiting.
    const rebooted = formatSimPlainLine({...s, totals: {...s.totals, ...commands, commandsReplyLost: 0, commandsNotTaken: 3}}, {color: true})
    expect(stripVTControlCharacters(rebooted)).toContain('  11 commands (2 applied, 5 failed, 1 ignored, 3 not taken; 5 replied)  ')
    expect(rebooted).toContain('\x1b[33m3 not taken')
  })

  it('the closing line ends at the summary\'s command figures, word for word', () => {
    const last = makeSnapshot(18)
    const fleets = makeSummary().fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 8, commandsApplied: 2, commandsReplied: 5, commandsFailed: 5, commandsIgnored: 1} : f))
    const summary = makeSummary({elapsedMs: 20_000, fleets, totals: sumCounters('total', fleets)})
    const line = formatSimPlainLine(closingSimSnapshot(summary, last), {closing: 'ended'})
    const summaryLine = stripVTControlCharacters(formatSimSummary(summary, {cores: 2}))
      .split('\n')
      .find((l) => l.trimStart().startsWith('commands'))
    expect(summaryLine).toBe('  commands      press: 8 received, 2 applied, 5 failed, 1 ignored (no rule matched); 5 replied')
    expect(line).toContain('  8 commands (2 applied, 5 failed, 1 ignored; 5 replied)  run ended')
  })

  it('the closing line: the summary\'s counters, each fleet\'s rate over the interval since the last line, no interval-only figures', () => {
    const last = makeSnapshot(18)
    const summary = makeSummary({elapsedMs: 20_000})
    const closing = closingSimSnapshot(summary, last)
    expect(closing.totals.published).toBe(1680)
    expect(closing.elapsedMs).toBe(20_000)
    expect(closing.stage).toBe(last.stage)
    for (const f of closing.fleets) {
      const before = last.fleets.find((b) => b.fleet === f.fleet)!
      expect(f.msgRate * 2).toBeCloseTo(f.published - before.published, 9)
    }
    expect(closing.totals.msgRate * 2).toBeCloseTo(1680 - last.totals.published, 9)
    const line = formatSimPlainLine(closing, {closing: 'ended'})
    expect(line).toMatch(/^sim 20s\/20s {2}steady {2}84\/84 connected .* 1,680 published {2}12 late {2}0 dropped {2}0 errors {2}0 reconnects {2}run ended$/)
    expect(line).not.toContain('lag p99')
    // No earlier line (a run shorter than a second): the whole run is the interval.
    expect(closingSimSnapshot(summary).totals.msgRate).toBe(1680 / 20)
  })
})
