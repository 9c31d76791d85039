import {stripVTControlCharacters} from 'node:util'
import {renderToString} from 'ink'
import {describe, expect, it} from 'vitest'
import {HealthLine, ThroughputLine} from '../../../src/report/ui/figure-lines.js'
import {SimView, type SimViewProps} from '../../../src/report/ui/sim-view.js'
import {makeSnapshot} from '../../fixtures/report/sim-data.js'


function frame(props: Partial<SimViewProps> & {columns: number; rows: number}): string[] {
  const out = renderToString(<SimView snapshot={makeSnapshot(9)} throughput={[10, 40, 84, 84]} color={false} title="smart-factory" cores={2} {...props} />, {
    columns: props.columns,
  })
  return stripVTControlCharacters(out).split('\n')
}

describe('SimView', () => {
  it('shows header, progress, fleet rows, totals, figures and footer on a roomy terminal', () => {
    const lines = frame({columns: 120, rows: 30})
    const text = lines.join('\n')
    expect(lines[0]).toBe('iotd sim  smart-factory  → mqtt://plant-broker:1883  stage steady')
    expect(lines[1]).toMatch(/^9s \/ 20s {2}█+░+ {2}45%$/)
    const row = (name: string) => lines.find((l) => l.startsWith(name))!.split(/\s+/).filter((w) => !/^[\u2580-\u259f]+$/.test(w))
    expect(row('press')).toEqual(['press', '24/24', '24.0', '216', '0', '0', '0', '0'])
    expect(row('robot-arm')).toEqual(['robot-arm', '20/20', '40.0', '360', '0', '0', '27', '0'])
    expect(row('total')).toEqual(['total', '84/84', '84.0', '756', '0', '0', '27', '0'])
    expect(text).toContain('publish lag  p50 800µs  p99 3.2ms  max 9.6ms    qos≥1 ack  p50 2.5ms  p99 10.0ms')
    expect(text).toContain('client       cpu 12%  rss 98 MiB  loop lag p99 2.1ms')
    expect(text).toMatch(/msg\/s +▁?[▁-█]+ {2}84\.0 now {2}peak 84\.0/)
    expect(lines[lines.length - 1]).toBe('Ctrl-C to stop')
    expect(lines.length).toBeLessThan(30)
  })

  it('stays shorter than a small terminal and keeps the totals', () => {
    for (const rows of [4, 8, 12]) {
      const lines = frame({columns: 80, rows})
      expect(lines.length, `rows ${rows}`).toBeLessThan(rows)
      expect(lines.some((l) => l.startsWith('total'))).toBe(true)
    }
    const tiny = frame({columns: 80, rows: 3})
    expect(tiny).toEqual([
      'iotd sim  smart-factory  → mqtt://plant-broker:1883  stage steady',
      'total  84/84 connected  84.0 msg/s  756 published  0 errors  27 late  0 dropped',
    ])
  })

  it('lists only the fleets that fit and counts the others', () => {
    const many = makeSnapshot(9)
    const fleets = Array.from({length: 12}, (_, i) => ({...many.fleets[i % 3], fleet: `line-${String(i).padStart(2, '0')}`}))
    const lines = stripVTControlCharacters(
      renderToString(<SimView snapshot={{...many, fleets}} throughput={[]} rows={14} columns={100} color={false} cores={2} />, {columns: 100}),
    ).split('\n')
    expect(lines.length).toBeLessThan(14)
    expect(lines).toContain('… and 8 more fleets')
    expect(lines.filter((l) => l.startsWith('line-'))).toHaveLength(4)
  })

  it('shows the command figures under the totals, adding up, within 80 columns', () => {
    const s = makeSnapshot(9)
    const commands = {commandsReceived: 8, commandsApplied: 2, commandsFailed: 4, commandsIgnored: 1, commandsReplied: 5, commandsReplyLost: 1}
    const fleets = s.fleets.map((f) => (f.fleet === 'press' ? {...f, ...commands} : f))
    const lines = stripVTControlCharacters(
      renderToString(<SimView snapshot={{...s, fleets, totals: {...s.totals, ...commands}}} throughput={[84]} rows={30} columns={80} color={false} cores={2} />, {columns: 80}),
    ).split('\n')
    const total = lines.findIndex((l) => l.startsWith('total'))
    expect(lines.slice(total + 1, total + 3)).toEqual(['commands     8 received  2 applied  4 failed  1 ignored  1 waiting', 'replies      5 replied  1 not sent'])
    // The table keeps its telemetry columns, none of them cut.
    expect(lines.find((l) => l.startsWith('fleet'))?.split(/\s+/)).toEqual(['fleet', 'connected', 'msg/s', 'published', 'errors', 'reconnects', 'late', 'dropped'])
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(80)
    expect(lines.length).toBeLessThan(30)
  })

  it('never writes a line wider than the terminal', () => {
    const lines = frame({columns: 60, rows: 30})
    for (const line of lines) expect([...line].length, line).toBeLessThanOrEqual(60)
  })

  it('says it is starting before the first snapshot', () => {
    const out = stripVTControlCharacters(renderToString(<SimView throughput={[]} rows={30} columns={80} color={false} title="plant" cores={2} />))
    expect(out).toBe('iotd sim  plant starting…')
  })
})

describe('HealthLine', () => {
  it('warns when the client is the bottleneck', () => {
    const busy = stripVTControlCharacters(renderToString(<HealthLine health={{cpuPercent: 50, rssBytes: 1 << 20, eventLoopLagP99Ms: 80}} cores={2} color />))
    expect(busy).toContain('⚠ client bottleneck')
    const calm = stripVTControlCharacters(renderToString(<HealthLine health={{cpuPercent: 50, rssBytes: 1 << 20, eventLoopLagP99Ms: 3}} cores={2} color />))
    expect(calm).not.toContain('bottleneck')
  })
})

describe('ThroughputLine', () => {
  it('draws at most 60 seconds of history', () => {
    const history = Array.from({length: 90}, (_, i) => i)
    const out = stripVTControlCharacters(renderToString(<ThroughputLine history={history} columns={200} color={false} />, {columns: 200}))
    const chart = out.match(/[▁-█]+/)![0]
    expect([...chart]).toHaveLength(60)
    expect(out).toContain('89.0 now  peak 89.0')
  })
})
