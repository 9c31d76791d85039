import {stripVTControlCharacters} from 'node:util'
import {describe, expect, it} from 'vitest'
import {formatSimSummary, latencyText, simVerdicts} from '../../../src/report/sim-summary.js'
import {makeSummary, sumCounters} from '../../fixtures/report/sim-data.js'
import {emptyCounters} from '../../../src/sim/types.js'

const ESC = '\x1b['

describe('formatSimSummary', () => {
  const text = formatSimSummary(makeSummary(), {cores: 2})
  const lines = text.split('\n')

  it('starts with the run, then verdicts, then the numbers', () => {
    expect(lines[0]).toBe('iotd sim  smart-factory  seed 42  broker mqtt://plant-broker:1883 (embedded)')
    expect(lines[1]).toBe('  ran 20s, 84 devices in 3 fleets, 2 workers, 197 KiB sent')
    expect(lines[2]).toBe('  ⚠ 12 messages were late (due time missed by more than one period)')
    const tableAt = lines.findIndex((l) => l.trimStart().startsWith('fleet'))
    expect(tableAt).toBeGreaterThan(2)
    expect(lines.findIndex((l) => l.includes('publish lag'))).toBeGreaterThan(tableAt)
  })

  it('prints an aligned fleet table with a total row', () => {
    const header = lines.find((l) => l.trimStart().startsWith('fleet'))!
    expect(header.trim().split(/\s+/)).toEqual(['fleet', 'connected', 'published', 'msg/s', 'acked', 'late', 'dropped', 'errors', 'reconnects'])
    const robot = lines.find((l) => l.includes('robot-arm'))!
    expect(robot.trim().split(/\s+/)).toEqual(['robot-arm', '20/20', '800', '40.0', '0', '12', '0', '0', '0'])
    const total = lines.find((l) => l.trimStart().startsWith('total'))!
    expect(total.trim().split(/\s+/)).toEqual(['total', '84/84', '1,680', '84.0', '400', '12', '0', '0', '0'])
    // right-aligned numbers end in the same column as their header
    const end = (line: string, word: string) => line.indexOf(word) + word.length
    expect(end(robot, '800')).toBe(end(header, 'published'))
    expect(end(total, '1,680')).toBe(end(header, 'published'))
  })

  it('shows latency, connect, client and labels figures with units', () => {
    expect(text).toContain('  publish lag   p50 800µs  p90 1.2ms  p99 3.2ms  p99.9 6.4ms  max 9.6ms  (1,680 samples)')
    expect(text).toContain('  qos≥1 ack     p50 2.5ms')
    expect(text).toContain('  connect       all 84 connected within 210ms of the first connect   p50 3.0ms  p99 12.0ms')
    expect(text).toContain('  client        cpu 12%  rss 98 MiB (peak 120 MiB)  event-loop lag p99 2.1ms')
    expect(text).toContain('  labels        7 anomaly labels → labels.jsonl')
  })

  it('has no escape codes without colour, and colours with it', () => {
    expect(text).not.toContain(ESC)
    const coloured = formatSimSummary(makeSummary(), {color: true, cores: 2})
    expect(coloured).toContain(ESC)
    expect(stripVTControlCharacters(coloured)).toBe(text)
  })

  it('says when a run was interrupted', () => {
    const out = formatSimSummary(makeSummary({interrupted: true, elapsedMs: 12_300}), {cores: 2})
    expect(out.split('\n')[2]).toBe('  ⚠ interrupted after 12.3s — partial summary')
  })

  it('hides the password of the broker URL', () => {
    const out = formatSimSummary(makeSummary({broker: 'mqtt://user:hunter2@broker:1883', embeddedBroker: false}), {cores: 2})
    expect(out).not.toContain('hunter2')
    expect(out.split('\n')[0]).toContain('broker mqtt://user:***@broker:1883')
  })

  it('says "no QoS 1/2 messages" instead of zeros when nothing was acknowledged', () => {
    const out = formatSimSummary(makeSummary({ackLatency: {count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}}), {cores: 2})
    expect(out).toContain('qos≥1 ack     no QoS 1/2 messages')
  })
})

describe('the commands line', () => {
  it('says per fleet what its devices did with their commands, and nothing for fleets that got none', () => {
    const fleets = makeSummary().fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 101, commandsApplied: 98, commandsReplied: 100, commandsFailed: 2, commandsIgnored: 1} : f))
    const out = stripVTControlCharacters(formatSimSummary(makeSummary({fleets, totals: sumCounters('total', fleets)}), {cores: 2}))
    const lines = out.split('\n').filter((l) => l.trimStart().startsWith('commands'))
    expect(lines).toEqual(['  commands      press: 101 received, 98 applied, 2 failed, 1 ignored (no rule matched); 100 replied'])
  })
  it('counts the commands a device going down did not take, so received = applied + failed + ignored + not taken', () => {
    // Before, a reboot's not-taken commands were only warned about: they were in no figure, and the line said
    // "10 received" of what was 7 received, or (counted as received) "3 waiting" at the end of a run.
    const fleets = makeSummary().fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 10, commandsApplied: 6, commandsReplied: 6, commandsIgnored: 1, commandsNotTaken: 3} : f))
    const lines = formatSimSummary({...makeSummary(), fleets}).split('\n').filter((l) => l.trimStart().startsWith('commands'))
    expect(lines).toEqual(['  commands      press: 10 received, 6 applied, 0 failed, 1 ignored (no rule matched), 3 not taken (the device was going down); 6 replied'])
    // None not taken: the figure is left out, as an older iotd's summary (which lacks it) shows.
    const none = makeSummary().fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 7, commandsApplied: 6, commandsReplied: 6, commandsIgnored: 1, commandsNotTaken: 0} : f))
    expect(formatSimSummary({...makeSummary(), fleets: none})).toContain('press: 7 received, 6 applied, 0 failed, 1 ignored (no rule matched); 6 replied')
  })

  it('says when commands failed, so the headline never claims a clean run beside them', () => {
    const fleets = makeSummary().fleets.map((f) => ({...f, late: 0, ...(f.fleet === 'press' ? {commandsReceived: 8, commandsApplied: 2, commandsReplied: 7, commandsFailed: 5, commandsIgnored: 1} : {})}))
    const verdicts = simVerdicts(makeSummary({fleets, totals: sumCounters('total', fleets)}), 2)
    expect(verdicts).toEqual([{level: 'warn', text: "5 of 8 commands failed (a rule's fail: share, a value, mode or anomaly that could not be applied, or cut off by the run's stop)"}])
  })
  it('says how many replies could not be sent, and the verdicts no longer claim a clean run', () => {
    const fleets = makeSummary().fleets.map((f) => ({...f, late: 0, ...(f.fleet === 'press' ? {commandsReceived: 2, commandsApplied: 2, commandsReplyLost: 1} : {})}))
    const summary = makeSummary({fleets, totals: sumCounters('total', fleets)})
    const out = stripVTControlCharacters(formatSimSummary(summary, {cores: 2}))
    expect(out).toContain('  commands      press: 2 received, 2 applied, 0 failed, 0 ignored (no rule matched); 0 replied, 1 reply not sent')
    expect(simVerdicts(summary, 2)).toEqual([
      {level: 'warn', text: '1 reply to commands and twin updates was not sent (the device was down or going down when it fell due, its connection was given up before the broker acknowledged it, or it had no topic)'},
    ])
  })
})

describe('simVerdicts', () => {
  it('gives a single ✓ for a clean run', () => {
    const fleets = makeSummary().fleets.map((f) => ({...f, late: 0}))
    const verdicts = simVerdicts(makeSummary({fleets, totals: sumCounters('total', fleets)}), 2)
    expect(verdicts).toEqual([{level: 'ok', text: 'all 84 devices connected; no late, dropped or failed messages'}])
  })

  it('fails on errors and on devices that never connected', () => {
    const fleets = makeSummary().fleets.map((f) => ({...f, late: 0, errors: f.fleet === 'press' ? 3 : 0, connected: f.fleet === 'press' ? 20 : f.target}))
    const verdicts = simVerdicts(makeSummary({fleets, totals: sumCounters('total', fleets), connectAllMs: undefined}), 2)
    expect(verdicts.filter((v) => v.level === 'fail').map((v) => v.text)).toEqual([
      'not every device connected (80 of 84 connected at the end)',
      '3 client errors (failed connects, publishes or command subscriptions, and exceptions of a behaviour module; the warnings say which)',
    ])
  })

  it('warns about dropped messages and a saturated client', () => {
    const base = makeSummary()
    const totals = {...base.totals, dropped: 1, late: 0}
    const health = {...base.health, cpuPercent: 195}
    const texts = simVerdicts({...base, totals, health}, 2).map((v) => v.text)
    expect(texts).toContain("1 message dropped (QoS 0 with the connection down at the due time, or QoS 1/2 past a device's offlineQueue)")
    expect(texts.some((t) => t.startsWith('the client is the bottleneck (CPU 195% of 200% available)'))).toBe(true)
    // the same load on four cores is fine
    expect(simVerdicts({...base, totals, health}, 4).some((v) => v.text.includes('bottleneck'))).toBe(false)
  })

  it('QoS 1/2 messages still queued at the end are their own warning, apart from the other drops', () => {
    const base = makeSummary()
    const texts = simVerdicts({...base, totals: {...base.totals, dropped: 12, unsent: 10, late: 0}}, 2).map((v) => v.text)
    expect(texts).toContain("2 messages dropped (QoS 0 with the connection down at the due time, or QoS 1/2 past a device's offlineQueue)")
    expect(texts).toContain('10 QoS 1/2 messages still queued when the run ended were not sent (counted as dropped): the devices were offline or their in-flight window full (offlineQueue, inflight)')
  })

  it('adds the engine warnings once, after the derived ones', () => {
    const texts = simVerdicts(makeSummary({warnings: ['broker limited inflight to 10', 'broker limited inflight to 10']}), 2).map((v) => v.text)
    expect(texts.filter((t) => t === 'broker limited inflight to 10')).toHaveLength(1)
    expect(texts[texts.length - 1]).toBe('broker limited inflight to 10')
  })
})

describe('latency lines with few samples', () => {
  it('leave out p99.9 below 1,000 samples (it would only repeat the maximum)', () => {
    const few = latencyText({count: 12, p50: 1.1, p90: 2.5, p99: 3.4, p999: 3.4, max: 3.4}, '-')
    expect(few).not.toContain('p99.9')
    expect(few.length + '  publish lag   '.length).toBeLessThanOrEqual(80)
    expect(latencyText({count: 1000, p50: 1, p90: 2, p99: 3, p999: 4, max: 5}, '-')).toContain('p99.9 4.0ms')
  })
})

describe('a run of Sparkplug edge nodes only', () => {
  const press = {...emptyCounters('press'), target: 2, connected: 1, published: 40, acked: 2, bytes: 4096, errors: 1, reconnects: 1, commandsReceived: 3, commandsApplied: 3}
  const group = {name: 'press', group: 'plant', nodes: 2, devices: 4, online: 1, nodeBirths: 3, deviceBirths: 6, rebirths: 1, ndata: 10, ddata: 17, nodeDeaths: 2, deviceDeaths: 2, commands: 3, writes: 2, refusedWrites: 0, held: 0, forwarded: 0, storeDropped: 0, published: 40, acked: 2, delivered: 40, bytes: 4096, connected: 1, sessions: 3, reconnects: 1, disconnects: 1, commandsApplied: 3, commandsFailed: 0, commandsIgnored: 0, errors: 1}
  const summary = {...makeSummary({devices: 0, workers: 0, fleets: [press], totals: {...press, fleet: 'total'}}), sparkplug: {groups: [group]}}
  const text = formatSimSummary(summary, {cores: 2})

  it('shows its groups as rows of the fleet table, whose total row is the run\'s totals', () => {
    expect(text).toContain('  ran 20s, Sparkplug edge nodes only, 4.0 KiB sent')
    const row = (name: string) => text.split('\n').find((l) => l.trimStart().startsWith(`${name} `))?.trim().split(/\s+/)
    expect(row('press')).toEqual(['press', '1/2', '40', '2.0', '2', '0', '0', '1', '1'])
    expect(row('total')).toEqual(['total', '1/2', '40', '2.0', '2', '0', '0', '1', '1'])
  })

  it('says which edge nodes had no session at the end and that there were errors; its commands are told on its own line', () => {
    expect(text).toContain('  ⚠ 1 of 2 edge nodes had a session when the run ended')
    expect(text).toContain('  ✗ 1 client error (failed connects or subscriptions; the warnings say which)')
    expect(text).toMatch(/sparkplug +press \(group plant\): .*3 commands \(1 rebirth, 2 writes\)/)
    expect(text).not.toMatch(/^ {2}commands /m)
  })
})
