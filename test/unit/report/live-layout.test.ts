import {describe, expect, it} from 'vitest'
import {layoutHeight, planSimLayout} from '../../../src/report/ui/layout.js'
import {buildLiveTable, connectedBarWidth} from '../../../src/report/ui/live-fleet-table.js'
import {FIGURE_LABEL_WIDTH, liveCommandLines, type CommandLine} from '../../../src/report/ui/live-command-lines.js'
import {makeSnapshot} from '../../fixtures/report/sim-data.js'

describe('planSimLayout', () => {
  it('shows everything with room to spare', () => {
    const l = planSimLayout(30, 3)
    expect(l).toMatchObject({progress: true, latency: true, health: true, footer: true, sparkline: true, fleetRows: 3, hiddenFleets: 0, spacing: true})
  })

  it('never plans a frame as tall as the terminal', () => {
    for (let rows = 1; rows <= 40; rows++) {
      for (const fleets of [0, 1, 3, 12, 50]) {
        const height = layoutHeight(planSimLayout(rows, fleets))
        expect(height, `rows ${rows}, fleets ${fleets}`).toBeLessThanOrEqual(Math.max(2, rows - 1))
      }
    }
  })

  it('shows only title and totals on a tiny terminal', () => {
    expect(planSimLayout(3, 5, 2)).toEqual({progress: false, latency: false, health: false, footer: false, sparkline: false, commandLines: 0, fleetRows: 0, hiddenFleets: 0, spacing: false})
  })

  it('shows the command lines right after the progress line, all of them or none, and counts them in the height', () => {
    expect(planSimLayout(30, 3, 2)).toMatchObject({progress: true, commandLines: 2, latency: true, fleetRows: 3, spacing: true})
    expect(layoutHeight(planSimLayout(30, 3, 2))).toBe(layoutHeight(planSimLayout(30, 3)) + 2)
    // Budget after title and totals: 2 lines — the progress line, then not both command lines.
    expect(planSimLayout(5, 3, 2)).toMatchObject({progress: true, commandLines: 0, latency: true})
    for (let rows = 1; rows <= 40; rows++) {
      for (const lines of [1, 2]) expect(layoutHeight(planSimLayout(rows, 3, lines)), `rows ${rows}`).toBeLessThanOrEqual(Math.max(2, rows - 1))
    }
  })

  it('cuts the fleet list before the other figures and counts what it hid', () => {
    const l = planSimLayout(14, 20)
    expect(l.footer && l.sparkline && l.health).toBe(true)
    expect(l.fleetRows).toBe(4)
    expect(l.hiddenFleets).toBe(16)
    expect(layoutHeight(l)).toBe(13)
  })
})

describe('buildLiveTable', () => {
  const s = makeSnapshot(1)

  it('aligns header and rows, with a connect bar on wide terminals', () => {
    const t = buildLiveTable(s.fleets, s.totals, 120)
    expect(t.header.split(/\s+/)).toEqual(['fleet', 'connected', 'msg/s', 'published', 'errors', 'reconnects', 'late', 'dropped'])
    const press = t.rows[0]
    expect(press[0].text.trim()).toBe('press')
    expect(press[1]).toEqual({text: '    16/24', tone: 'plain'}) // right-aligned under "connected"
    expect(press[2].tone).toBe('bar')
    expect([...(press[2].text + press[2].rest)]).toHaveLength(connectedBarWidth(120))
    expect(t.rows[1][1].tone).toBe('good')
    const robotLate = t.rows[2][t.rows[2].length - 2]
    expect(robotLate).toEqual({text: '   3', tone: 'warn'})
    expect(t.totals[0].text.trim()).toBe('total')
  })

  it('drops the bar on narrow terminals', () => {
    const t = buildLiveTable(s.fleets, s.totals, 80)
    expect(t.rows[0]).toHaveLength(8)
    expect(t.rows[0].some((c) => c.tone === 'bar')).toBe(false)
  })

  it('keeps commands out of the fleet table: at 80 columns no header is cut', () => {
    const fleets = s.fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 1200, commandsReplied: 1180, commandsFailed: 20} : f))
    const t = buildLiveTable(fleets, {...s.totals, commandsReceived: 1200, commandsReplied: 1180, commandsFailed: 20}, 80)
    expect(t.header.split(/\s+/)).toEqual(['fleet', 'connected', 'msg/s', 'published', 'errors', 'reconnects', 'late', 'dropped'])
    expect(t.header.length).toBeLessThanOrEqual(80)
  })
})

describe('liveCommandLines', () => {
  const s = makeSnapshot(1)
  const text = (line: CommandLine) => `${line.label.padEnd(FIGURE_LABEL_WIDTH)}${line.figures.map((f) => f.text).join(line.gap)}`
  const totals = {...s.totals, commandsReceived: 1200, commandsApplied: 1150, commandsFailed: 20, commandsIgnored: 3, commandsReplied: 1140, commandsReplyLost: 10}

  it('none before a command arrived', () => {
    expect(liveCommandLines(s.totals, 120)).toEqual([])
  })

  it('received = applied + failed + ignored + waiting, then the replies on a line of their own at 80 columns', () => {
    const lines = liveCommandLines(totals, 80)
    expect(lines.map(text)).toEqual([
      'commands     1,200 received  1,150 applied  20 failed  3 ignored  27 waiting',
      'replies      1,140 replied  10 not sent',
    ])
    for (const line of lines) expect([...text(line)].length).toBeLessThanOrEqual(80)
    // Failures and replies not sent in warning tone, the rest plain.
    expect(lines.flatMap((l) => l.figures.filter((f) => f.tone === 'warn').map((f) => f.text))).toEqual(['20 failed', '10 not sent'])
  })

  it('one line where it fits; nothing waiting and no reply lost are left out', () => {
    expect(liveCommandLines(totals, 120).map(text)).toEqual(['commands     1,200 received  1,150 applied  20 failed  3 ignored  27 waiting  ·  1,140 replied  10 not sent'])
    const settled = {...totals, commandsReceived: 1173, commandsReplyLost: 0}
    expect(liveCommandLines(settled, 120).map(text)).toEqual(['commands     1,173 received  1,150 applied  20 failed  3 ignored  ·  1,140 replied'])
  })

  it('large figures compact and, where two spaces would not fit, one between figures: still 80 columns', () => {
    const big = {...totals, commandsReceived: 1_234_567, commandsApplied: 1_200_000, commandsFailed: 23_456, commandsIgnored: 10_000, commandsReplied: 1_190_000}
    const lines = liveCommandLines(big, 80)
    expect(text(lines[0])).toBe('commands     1.23M received 1.2M applied 23.5k failed 10k ignored 1,111 waiting')
    for (const line of lines) expect([...text(line)].length).toBeLessThanOrEqual(80)
  })
})
