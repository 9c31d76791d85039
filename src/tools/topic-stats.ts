/**
 * `iotd tail --stats`: per-topic counters (messages, rate, last seen, payload size) and the table they render to.
 * Counting is O(1) per message; the table is built once per refresh.
 *
 * The rate is over the last RATE_WINDOW_TICKS ticks (10 s at one tick a second), not the last tick alone: a topic
 * published every 2 s shows 0.5/s, not 1 and 0 in turn. Rows keep their place (sorted by topic), so a table that
 * refreshes every second does not reshuffle as counts change; a total row sums the columns.
 */
import {formatBytes, formatNumber} from '../metrics/format.js'
import {layoutTable, type ColumnSpec} from '../report/text-table.js'

/** Ticks the rate is averaged over. */
const RATE_WINDOW_TICKS = 10

interface TopicRow {
  messages: number
  bytes: number
  lastSize: number
  lastSeen: number
  /** Messages at each tick in TopicStats.tickTimes (same length, oldest first). */
  atTick: number[]
}

export class TopicStats {
  private readonly topics = new Map<string, TopicRow>()
  /** The start and the last ticks, oldest first: at most RATE_WINDOW_TICKS + 1 of them. */
  private readonly tickTimes: number[]
  total = 0
  totalBytes = 0

  constructor(private readonly now: () => number = Date.now) {
    this.tickTimes = [now()]
  }

  add(topic: string, size: number, at: number): void {
    let row = this.topics.get(topic)
    if (!row) {
      // A topic first seen now had no messages at any earlier tick.
      row = {messages: 0, bytes: 0, lastSize: 0, lastSeen: 0, atTick: this.tickTimes.map(() => 0)}
      this.topics.set(topic, row)
    }
    row.messages++
    row.bytes += size
    row.lastSize = size
    row.lastSeen = at
    this.total++
    this.totalBytes += size
  }

  /** Closes an interval: each topic's count is noted at this tick; the oldest tick leaves the window. */
  tick(): void {
    this.tickTimes.push(this.now())
    const full = this.tickTimes.length > RATE_WINDOW_TICKS + 1
    if (full) this.tickTimes.shift()
    for (const row of this.topics.values()) {
      row.atTick.push(row.messages)
      if (full) row.atTick.shift()
    }
  }

  get size(): number {
    return this.topics.size
  }

  /** Messages per second over the window: (count at the last tick − count at the oldest) / the time between. */
  private rateOf(row: TopicRow): number {
    const seconds = (this.tickTimes[this.tickTimes.length - 1] - this.tickTimes[0]) / 1000
    return seconds > 0 ? (row.atTick[row.atTick.length - 1] - row.atTick[0]) / seconds : 0
  }

  /** Messages per second of one topic over the window (0 before the first tick). */
  rate(topic: string): number {
    const row = this.topics.get(topic)
    return row ? this.rateOf(row) : 0
  }

  /**
   * The table, one row per topic in topic order, and a total row. Over `maxRows` topics the busiest are shown (in
   * topic order still) and a line says how many more there are; the total row counts them all.
   */
  render(maxRows: number, now = this.now()): string {
    const columns: ColumnSpec[] = [
      {header: 'topic', align: 'left', maxWidth: 60},
      {header: 'messages', align: 'right'},
      {header: 'msg/s', align: 'right'},
      {header: 'last seen', align: 'right'},
      {header: 'size', align: 'right'},
      {header: 'avg size', align: 'right'},
    ]
    const all = [...this.topics.entries()]
    const limit = Math.max(1, maxRows)
    const shown = (all.length <= limit ? all : [...all].sort((a, b) => b[1].messages - a[1].messages || compare(a[0], b[0])).slice(0, limit)).sort((a, b) => compare(a[0], b[0]))
    const rate = (r: TopicRow) => this.rateOf(r)
    const rows = shown.map(([topic, r]) => [
      topic,
      formatNumber(r.messages),
      formatRateCell(rate(r)),
      `${formatNumber(Math.max(0, (now - r.lastSeen) / 1000), {decimals: 1})}s ago`,
      formatBytes(r.lastSize),
      formatBytes(Math.round(r.bytes / r.messages)),
    ])
    let totalRate = 0
    let lastSeen = 0
    for (const r of this.topics.values()) {
      totalRate += rate(r)
      lastSeen = Math.max(lastSeen, r.lastSeen)
    }
    const hidden = all.length - shown.length
    if (this.topics.size > 0) {
      rows.push([
        `total (${formatNumber(this.topics.size)} topic${this.topics.size === 1 ? '' : 's'})`,
        formatNumber(this.total),
        formatRateCell(totalRate),
        `${formatNumber(Math.max(0, (now - lastSeen) / 1000), {decimals: 1})}s ago`,
        '',
        formatBytes(Math.round(this.totalBytes / this.total)),
      ])
    }
    const t = layoutTable(columns, rows)
    const lines = [t.header.join('  '), ...t.rows.slice(0, shown.length).map((r) => r.join('  '))]
    if (hidden > 0) lines.push(`… ${formatNumber(hidden)} more topic${hidden === 1 ? '' : 's'} (the busiest are shown)`)
    if (this.topics.size > 0) lines.push(t.rows[t.rows.length - 1].join('  '))
    else lines.push('no messages yet')
    return `${lines.join('\n')}\n`
  }

  toJSON(): Array<{topic: string; messages: number; bytes: number; lastSeen: string; rate: number}> {
    return [...this.topics.entries()]
      .sort((a, b) => compare(a[0], b[0]))
      .map(([topic, r]) => ({topic, messages: r.messages, bytes: r.bytes, lastSeen: new Date(r.lastSeen).toISOString(), rate: this.rateOf(r)}))
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** A rate with the decimals a slow topic needs: 0.5, 0.05, 12.3, 1,204. */
function formatRateCell(perSecond: number): string {
  if (perSecond === 0) return '0'
  if (perSecond < 0.1) return perSecond.toFixed(2)
  return formatNumber(Math.round(perSecond * 10) / 10, {decimals: 1})
}
