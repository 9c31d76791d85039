import {describe, expect, it} from 'vitest'
import {layoutHeight, planSimLayout} from '../../../src/report/ui/layout.js'
import {buildLiveTable, connectedBarWidth} from '../../../src/report/ui/live-fleet-table.js'
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
    expect(planSimLayout(3, 5)).toEqual({progress: false, latency: false, health: false, footer: false, sparkline: false, fleetRows: 0, hiddenFleets: 0, spacing: false})
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

  it('adds the command columns once a command arrived, failures in warning tone', () => {
    const fleets = s.fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 1200, commandsReplied: 1180, commandsFailed: 20} : f))
    const totals = {...s.totals, commandsReceived: 1200, commandsReplied: 1180, commandsFailed: 20}
    const t = buildLiveTable(fleets, totals, 80)
    expect(t.header.trim().split(/\s{2,}/).slice(-3)).toEqual(['commands', 'replied', 'cmd failed'])
    expect(t.rows[0].slice(-3).map((c) => [c.text.trim(), c.tone])).toEqual([['1,200', 'plain'], ['1,180', 'plain'], ['20', 'warn']])
    expect(t.rows[1].at(-1)).toMatchObject({tone: 'plain'})
  })

  it('adds replies not sent beside replied once one could not be sent, in warning tone', () => {
    const fleets = s.fleets.map((f) => (f.fleet === 'press' ? {...f, commandsReceived: 12, commandsReplied: 9, commandsReplyLost: 3} : f))
    const t = buildLiveTable(fleets, {...s.totals, commandsReceived: 12, commandsReplied: 9, commandsReplyLost: 3}, 80)
    expect(t.header.trim().split(/\s{2,}/).slice(-4)).toEqual(['commands', 'replied', 'not sent', 'cmd failed'])
    expect(t.rows[0].slice(-4).map((c) => [c.text.trim(), c.tone])).toEqual([['12', 'plain'], ['9', 'plain'], ['3', 'warn'], ['0', 'plain']])
  })
})
