/**
 * `iotd tail --stats`: per-topic counters (messages, rate over the last interval, last seen, payload size) and
 * the table they render to. Counting is O(1) per message; the table is built once per refresh.
 */
import {formatBytes, formatNumber} from '../metrics/format.js'
import {layoutTable, type ColumnSpec} from '../report/text-table.js'

interface TopicRow {
  messages: number
  bytes: number
  lastSize: number
  lastSeen: number
  /** Messages at the previous tick, for the rate. */
  atTick: number
  rate: number
}

export class TopicStats {
  private readonly topics = new Map<string, TopicRow>()
  private lastTick: number
  total = 0

  constructor(private readonly now: () => number = Date.now) {
    this.lastTick = now()
  }

  add(topic: string, size: number, at: number): void {
    let row = this.topics.get(topic)
    if (!row) {
      row = {messages: 0, bytes: 0, lastSize: 0, lastSeen: 0, atTick: 0, rate: 0}
      this.topics.set(topic, row)
    }
    row.messages++
    row.bytes += size
    row.lastSize = size
    row.lastSeen = at
    this.total++
  }

  /** Closes an interval: each topic's rate is its messages since the previous tick over the time since it. */
  tick(): void {
    const now = this.now()
    const seconds = Math.max(0.001, (now - this.lastTick) / 1000)
    for (const row of this.topics.values()) {
      row.rate = (row.messages - row.atTick) / seconds
      row.atTick = row.messages
    }
    this.lastTick = now
  }

  get size(): number {
    return this.topics.size
  }

  /** The table, busiest topics first, at most `maxRows` of them (a last line says how many more). */
  render(maxRows: number, now = this.now()): string {
    const columns: ColumnSpec[] = [
      {header: 'topic', align: 'left', maxWidth: 60},
      {header: 'messages', align: 'right'},
      {header: 'msg/s', align: 'right'},
      {header: 'last seen', align: 'right'},
      {header: 'size', align: 'right'},
      {header: 'avg size', align: 'right'},
    ]
    const sorted = [...this.topics.entries()].sort((a, b) => b[1].messages - a[1].messages || (a[0] < b[0] ? -1 : 1))
    const shown = sorted.slice(0, Math.max(1, maxRows))
    const rows = shown.map(([topic, r]) => [
      topic,
      formatNumber(r.messages),
      formatNumber(r.rate, {decimals: 1}),
      `${formatNumber(Math.max(0, (now - r.lastSeen) / 1000), {decimals: 1})}s ago`,
      formatBytes(r.lastSize),
      formatBytes(Math.round(r.bytes / r.messages)),
    ])
    const t = layoutTable(columns, rows)
    const lines = [t.header.join('  '), ...t.rows.map((r) => r.join('  '))]
    if (sorted.length > shown.length) lines.push(`… ${sorted.length - shown.length} more topics`)
    lines.push(`${formatNumber(this.total)} messages on ${formatNumber(this.topics.size)} topics`)
    return `${lines.join('\n')}\n`
  }

  toJSON(): Array<{topic: string; messages: number; bytes: number; lastSeen: string}> {
    return [...this.topics.entries()].map(([topic, r]) => ({topic, messages: r.messages, bytes: r.bytes, lastSeen: new Date(r.lastSeen).toISOString()}))
  }
}
