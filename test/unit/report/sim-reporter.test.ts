import {describe, expect, it} from 'vitest'
import {formatRate} from '../../../src/metrics/format.js'
import {createSimReporter} from '../../../src/report/sim-reporter.js'
import {makeSnapshot, makeSummary} from '../../fixtures/report/sim-data.js'
import {FakeTerminal} from './fake-terminal.js'

const ESC = '\x1b['

function streams(opts: {stdoutTTY?: boolean; stderrTTY?: boolean} = {}) {
  const stdout = new FakeTerminal(100, 30, opts.stdoutTTY ?? false)
  const stderr = new FakeTerminal(100, 30, opts.stderrTTY ?? false)
  return {stdout, stderr, streams: {stdout: stdout.asStream(), stderr: stderr.asStream()}}
}

describe('createSimReporter, plain mode', () => {
  it('writes one progress line per update and log lines to stderr, the summary to stdout, no escapes', async () => {
    const {stdout, stderr, streams: s} = streams()
    const reporter = await createSimReporter('plain', s)
    reporter.log('stage steady')
    reporter.update(makeSnapshot(1))
    reporter.log('broker closed a connection', 'warn')
    reporter.update(makeSnapshot(2))
    await reporter.finish(makeSummary())
    await reporter.finish(makeSummary())

    const errLines = stderr.text.trimEnd().split('\n')
    expect(errLines).toHaveLength(5)
    expect(errLines[0]).toBe('stage steady')
    expect(errLines[1]).toMatch(/^sim 1s\/20s {2}ramp 67% {2}76\/84 connected/)
    expect(errLines[2]).toBe('warn: broker closed a connection')
    expect(errLines[3]).toMatch(/^sim 2s\/20s/)
    // The closing line: the interval up to the stop, with the summary's totals (1,680 published).
    expect(errLines[4]).toMatch(/^sim 20s\/20s {2}ramp 100% {2}84\/84 connected {2}[\d.]+ msg\/s {2}1,680 published {2}12 late .* run ended$/)
    expect(stdout.text.startsWith('iotd sim  smart-factory  seed 42')).toBe(true)
    expect(stdout.text.match(/iotd sim/g)).toHaveLength(1)
    expect(stdout.text + stderr.text).not.toContain(ESC)
  })

  it('colours stderr only when it is a terminal', async () => {
    const {stderr, streams: s} = streams({stderrTTY: true})
    const reporter = await createSimReporter('plain', {...s, color: true})
    reporter.log('slow broker', 'warn')
    expect(stderr.text).toContain(ESC)
    const off = streams({stderrTTY: true})
    const plain = await createSimReporter('plain', {...off.streams, color: false})
    plain.log('slow broker', 'warn')
    expect(off.stderr.text).toBe('warn: slow broker\n')
  })

  it('ignores updates after finish', async () => {
    const {stderr, streams: s} = streams()
    const reporter = await createSimReporter('plain', s)
    await reporter.finish(makeSummary())
    const closed = stderr.text
    reporter.update(makeSnapshot(3))
    expect(stderr.text).toBe(closed)
  })

  it('ends with a line for the last interval: its counts are the summary\'s totals, its rate that interval\'s', async () => {
    const {stderr, streams: s} = streams()
    const reporter = await createSimReporter('plain', s)
    reporter.update(makeSnapshot(19))
    const summary = makeSummary({elapsedMs: 19_500})
    await reporter.finish(summary)
    const lines = stderr.text.trimEnd().split('\n')
    expect(lines).toHaveLength(2)
    const before = makeSnapshot(19).totals.published
    // 1,680 in all, the last line 19 s in: the rest came in the half second to the stop.
    const rate = formatRate((1680 - before) / 0.5, 'msg')
    expect(lines[1]).toBe(`sim 19.5s/20s  steady  84/84 connected  ${rate}  1,680 published  12 late  0 dropped  0 errors  0 reconnects  run ended`)
  })

  it('says so when the run was interrupted, and prints no closing line for a run with no MQTT devices and no progress', async () => {
    const {stderr, streams: s} = streams()
    const reporter = await createSimReporter('plain', s)
    reporter.update(makeSnapshot(2))
    await reporter.finish(makeSummary({interrupted: true, elapsedMs: 2500}))
    expect(stderr.text.trimEnd().split('\n').at(-1)).toMatch(/^sim 2.5s\/20s .* interrupted$/)
    const modbusOnly = streams()
    const quietRun = await createSimReporter('plain', modbusOnly.streams)
    await quietRun.finish(makeSummary({devices: 0, fleets: []}))
    expect(modbusOnly.stderr.text).toBe('')
  })
})

describe('createSimReporter, json mode', () => {
  it('prints the summary as JSON on stdout with the password hidden, and no progress into a pipe', async () => {
    const {stdout, stderr, streams: s} = streams()
    const reporter = await createSimReporter('json', s)
    reporter.update(makeSnapshot(1))
    reporter.log('stage steady')
    reporter.log('broker refused a client', 'warn')
    const summary = makeSummary({broker: 'mqtt://bob:pw123@host:1883'})
    await reporter.finish(summary)
    expect(JSON.parse(stdout.text)).toEqual({...summary, broker: 'mqtt://bob:***@host:1883'})
    expect(stdout.text).not.toContain('pw123')
    expect(stderr.text).toBe('warn: broker refused a client\n')
  })

  it('shows progress on stderr when a person watches it', async () => {
    const {stderr, streams: s} = streams({stderrTTY: true})
    const reporter = await createSimReporter('json', {...s, color: false})
    reporter.update(makeSnapshot(1))
    expect(stderr.text).toMatch(/^sim 1s\/20s/)
    await reporter.finish(makeSummary())
    expect(stderr.text.trimEnd().split('\n').at(-1)).toMatch(/ 1,680 published .* run ended$/)
  })
})

describe('createSimReporter, quiet mode', () => {
  it('prints only the summary and error lines', async () => {
    const {stdout, stderr, streams: s} = streams()
    const reporter = await createSimReporter('quiet', s)
    reporter.update(makeSnapshot(1))
    reporter.log('stage steady')
    reporter.log('late messages', 'warn')
    reporter.log('worker 1 crashed', 'error')
    await reporter.finish(makeSummary())
    expect(stderr.text).toBe('error: worker 1 crashed\n')
    expect(stdout.text).toContain('publish lag')
    expect(stdout.text).not.toContain(ESC)
  })
})
