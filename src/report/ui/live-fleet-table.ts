import type {FleetCounters} from '../../sim/types.js'
import {formatNumber, formatRateValue} from '../../metrics/format.js'
import {progressBar} from '../progress-bar.js'
import {layoutTable, type ColumnSpec} from '../text-table.js'

/**
 * The live fleet table as padded cells with a tone each, computed without Ink so the layout is tested as plain
 * text and the component only maps tones to colours.
 */

export type CellTone = 'plain' | 'good' | 'warn' | 'fail' | 'bar'

export interface Cell {
  text: string
  tone: CellTone
  /** The unfilled part of a bar cell (drawn dim). */
  rest?: string
}

export interface LiveTable {
  header: string
  rows: Cell[][]
  totals: Cell[]
}

export type LiveFleet = FleetCounters & {msgRate: number}

/** Between cells, in the header and in rows alike. */
export const CELL_GAP = '  '

interface LiveColumn extends ColumnSpec {
  value(f: LiveFleet, name: string): string
  tone(f: LiveFleet): CellTone
}

const compact = {compact: true}
const plain = (): CellTone => 'plain'
const warnIfAny = (n: (f: LiveFleet) => number) => (f: LiveFleet): CellTone => (n(f) > 0 ? 'warn' : 'plain')

const COLUMNS_BEFORE_BAR: LiveColumn[] = [
  {header: 'fleet', align: 'left', maxWidth: 16, value: (_f, name) => name, tone: plain},
  {
    header: 'connected',
    align: 'right',
    value: (f) => `${formatNumber(f.connected, compact)}/${formatNumber(f.target, compact)}`,
    tone: (f) => (f.target > 0 && f.connected >= f.target ? 'good' : 'plain'),
  },
]

const COLUMNS_AFTER_BAR: LiveColumn[] = [
  {header: 'msg/s', align: 'right', value: (f) => formatRateValue(f.msgRate), tone: plain},
  {header: 'published', align: 'right', value: (f) => formatNumber(f.published, compact), tone: plain},
  {header: 'errors', align: 'right', value: (f) => formatNumber(f.errors, compact), tone: (f) => (f.errors > 0 ? 'fail' : 'plain')},
  {header: 'reconnects', align: 'right', value: (f) => formatNumber(f.reconnects, compact), tone: warnIfAny((f) => f.reconnects)},
  {header: 'late', align: 'right', value: (f) => formatNumber(f.late, compact), tone: warnIfAny((f) => f.late)},
  {header: 'dropped', align: 'right', value: (f) => formatNumber(f.dropped, compact), tone: warnIfAny((f) => f.dropped)},
]

/** Bar width for the connected column by terminal width: a bar only where there is room for it. */
export function connectedBarWidth(columns: number): number {
  if (columns >= 110) return 10
  if (columns >= 96) return 6
  return 0
}

function barColumn(width: number): LiveColumn {
  return {header: '', align: 'left', value: () => ' '.repeat(width), tone: () => 'bar'}
}

export function buildLiveTable(fleets: readonly LiveFleet[], totals: LiveFleet, columns: number): LiveTable {
  const barWidth = connectedBarWidth(columns)
  const cols = [...COLUMNS_BEFORE_BAR, ...(barWidth > 0 ? [barColumn(barWidth)] : []), ...COLUMNS_AFTER_BAR]
  const entries = [...fleets.map((f) => ({f, name: f.fleet})), {f: totals, name: 'total'}]
  const table = layoutTable(
    cols,
    entries.map(({f, name}) => cols.map((col) => col.value(f, name))),
  )
  const toCells = (padded: string[], f: LiveFleet): Cell[] =>
    padded.map((text, i) => {
      const tone = cols[i].tone(f)
      if (tone !== 'bar') return {text, tone}
      const bar = progressBar(f.target > 0 ? f.connected / f.target : 0, barWidth)
      return {text: bar.filled, rest: bar.empty, tone}
    })
  const rows = table.rows.map((padded, r) => toCells(padded, entries[r].f))
  const totalsRow = rows.pop() as Cell[]
  return {header: table.header.join(CELL_GAP).trimEnd(), rows, totals: totalsRow}
}
