import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {RunReporter} from '../../../src/report/run-reporter.js'
import {createSimReporter} from '../../../src/report/sim-reporter.js'
import type {SimSnapshot, SimSummary} from '../../../src/sim/types.js'
import {makeSnapshot, makeSummary} from '../../fixtures/report/sim-data.js'
import {FakeTerminal, stripEscapes} from './fake-terminal.js'

/*
 * The interactive reporter rendered by Ink into a fake terminal. Ink reads CI from the environment when it is
 * first imported and then draws nothing until exit, so CI is cleared before the reporter (which imports Ink
 * lazily) loads; this file imports nothing from Ink statically for that reason.
 */
const saved = {CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION}
beforeAll(() => {
  delete process.env.CI
  delete process.env.CONTINUOUS_INTEGRATION
})
afterAll(() => {
  for (const [key, value] of Object.entries(saved)) if (value !== undefined) process.env[key] = value
})

/** Waits until Ink has drawn a frame with a line matching `line` (it draws on its own schedule, not on update()). */
const drawn = (term: FakeTerminal, line: RegExp) => expect.poll(() => frames(term).some((f) => f.some((l) => line.test(l))), {timeout: 5000}).toBe(true)

/** The frames Ink drew, each as the lines a person would read. */
function frames(term: FakeTerminal): string[][] {
  return term.writes
    .map((w) => stripEscapes(w))
    .filter((w) => w.includes('iotd sim'))
    .map((w) => w.replace(/\n$/, '').split('\n'))
}

async function run(term: FakeTerminal, steps: (r: RunReporter<SimSnapshot, SimSummary>) => Promise<void>) {
  const stderr = new FakeTerminal(term.columns, term.rows)
  const reporter = await createSimReporter('interactive', {stdout: term.asStream(), stderr: stderr.asStream(), color: true, title: 'smart-factory'})
  try {
    await steps(reporter)
  } finally {
    await reporter.finish(makeSummary())
  }
}

describe('interactive sim reporter', () => {
  it('draws the fleet table and figures, prints log lines above it and the summary at the end', async () => {
    const term = new FakeTerminal(120, 30)
    await run(term, async (reporter) => {
      reporter.update(makeSnapshot(1))
      await drawn(term, /^press /)
      reporter.log('stage steady')
      reporter.update(makeSnapshot(5))
      await drawn(term, /^press +24\/24/)
    })
    const last = frames(term).filter((f) => f.some((l) => l.startsWith('press')))
    expect(last.length).toBeGreaterThan(0)
    const frame = last[last.length - 1].join('\n')
    expect(frame).toMatch(/press +24\/24 +█+ +24\.0 +120/)
    expect(frame).toMatch(/robot-arm +20\/20 +█+ +40\.0 +200 +0 +0 +15 +0/)
    expect(frame).toMatch(/total +84\/84 .* 84\.0 +420/)
    expect(frame).toContain('publish lag  p50 800µs  p99 3.2ms')
    expect(frame).toContain('Ctrl-C to stop')

    const screen = stripEscapes(term.text)
    expect(screen).toContain('· stage steady')
    // the summary comes after the last live frame, and the live area was cleared before it
    const summaryAt = screen.lastIndexOf('iotd sim  smart-factory  seed 42')
    expect(summaryAt).toBeGreaterThan(screen.lastIndexOf('Ctrl-C to stop'))
    expect(screen.slice(summaryAt)).toContain('publish lag   p50 800µs')
  })

  it('keeps every frame shorter than a small terminal', async () => {
    const term = new FakeTerminal(90, 8)
    await run(term, async (reporter) => {
      for (let s = 1; s <= 3; s++) {
        const before = term.writes.length
        reporter.update(makeSnapshot(s))
        await expect.poll(() => term.writes.length, {timeout: 5000}).toBeGreaterThan(before)
      }
    })
    const drawn = frames(term)
    expect(drawn.length).toBeGreaterThan(0)
    for (const f of drawn) {
      if (f.some((l) => l.startsWith('  ran '))) continue // the final summary, printed after the live view ended
      expect(f.length, f.join('\n')).toBeLessThan(8)
    }
  })
})
