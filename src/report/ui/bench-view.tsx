import {Box, Text} from 'ink'
import type {BenchSnapshot} from '../../bench/run-bench.js'
import {formatMs, formatNumber, formatRateValue} from '../../metrics/format.js'
import type {LatencySummary} from '../../metrics/histogram.js'
import {percentileChart} from '../percentile-chart.js'
import {Footer, HealthLine, Label, ThroughputLine} from './figure-lines.js'
import {FIGURE_LABEL_WIDTH} from './live-command-lines.js'
import {ProgressLine} from './header.js'

export interface BenchViewProps {
  snapshot?: BenchSnapshot
  /** Sent (or connected) per second, oldest first. */
  throughput: readonly number[]
  rows: number
  columns: number
  color: boolean
}

const HEADLINE_TITLES = {latency: 'latency (corrected, from intended send time)', ack: 'publish → ack', connect: 'connect', uncorrected: 'latency (uncorrected)'} as const

function spectrum(s: LatencySummary | undefined): string {
  if (!s || s.count === 0) return '-'
  return [`p50 ${formatMs(s.p50)}`, `p90 ${formatMs(s.p90)}`, `p99 ${formatMs(s.p99)}`, `p99.9 ${formatMs(s.p999)}`, `max ${formatMs(s.max)}`]
    .map((t) => t.padEnd(14))
    .join('')
}

/**
 * The live area of `iotd bench`: what is being done to which broker, target vs achieved rate, clients and problem
 * counters, the latency spectrum for the last second and so far, the percentile plot of everything so far, the
 * client's own health, and the throughput of the last minute. Sections drop from the bottom when rows are few
 * (the frame must stay shorter than the terminal, see layout.ts).
 */
export function BenchView({snapshot: s, throughput, rows, columns, color}: BenchViewProps) {
  if (!s) {
    return (
      <Text>
        <Text bold>iotd bench</Text>
        <Text dimColor> connecting…</Text>
      </Text>
    )
  }
  const problems = (n: number, noun: string, tone: 'yellow' | 'red') => (
    <Text color={color && n > 0 ? tone : undefined}>{`${formatNumber(n)} ${noun}`}</Text>
  )
  // Fixed lines: title, progress, rate, clients, 2 latency lines, health, throughput, footer = 9, plus the chart.
  const chartHeight = Math.max(0, Math.min(10, rows - 1 - 9 - 2))
  const chart = chartHeight >= 3 ? percentileChart(s.percentileCurve, {width: Math.min(columns - 2, 90), height: chartHeight}) : []
  return (
    <Box flexDirection="column" width={columns}>
      <Text wrap="truncate-end">
        <Text bold>iotd bench</Text>
        <Text bold>{`  ${s.mode}`}</Text>
        <Text dimColor>{'  → '}</Text>
        {s.broker}
        <Text dimColor>{'  '}</Text>
        <Text color={color ? 'cyan' : undefined}>{s.phase}</Text>
        <Text dimColor>{`  ${s.load}`}</Text>
      </Text>
      <ProgressLine elapsedMs={s.elapsedMs} durationMs={s.plannedMs} columns={columns} color={color} />
      <Text wrap="truncate-end">
        <Label text={s.mode === 'conn' ? 'connects/s' : 'msg/s'} />
        {s.targetPerSec !== null ? <Text>{`target ${formatRateValue(s.targetPerSec)}  `}</Text> : <Text>{'saturation  '}</Text>}
        <Text bold>{`sent ${formatRateValue(s.sentPerSec)}`}</Text>
        {s.receivedPerSec !== null ? <Text>{`  received ${formatRateValue(s.receivedPerSec)}`}</Text> : null}
      </Text>
      <Text wrap="truncate-end">
        <Label text="clients" />
        {`${formatNumber(s.clients.connected)}/${formatNumber(s.clients.total)} connected  ${formatNumber(s.counts.sent)} sent  `}
        {problems(s.counts.dropped, 'dropped', 'yellow')}
        {'  '}
        {problems(s.counts.late, 'late', 'yellow')}
        {'  '}
        {problems(s.counts.errors, 'errors', 'red')}
        {s.counts.duplicates > 0 ? <Text color={color ? 'yellow' : undefined}>{`  ${formatNumber(s.counts.duplicates)} duplicates`}</Text> : null}
      </Text>
      <Text wrap="truncate-end" dimColor>
        {HEADLINE_TITLES[s.headline]}
      </Text>
      <Text wrap="truncate-end">
        <Label text="last second" />
        {spectrum(s.interval)}
      </Text>
      <Text wrap="truncate-end">
        <Label text="so far" />
        <Text bold>{spectrum(s.cumulative)}</Text>
      </Text>
      {s.uncorrected && rows > 16 ? (
        <Text wrap="truncate-end" dimColor>
          {'uncorrected'.padEnd(FIGURE_LABEL_WIDTH)}
          {spectrum(s.uncorrected)}
        </Text>
      ) : null}
      {s.ack && rows > 17 ? (
        <Text wrap="truncate-end" dimColor>
          {'ack'.padEnd(FIGURE_LABEL_WIDTH)}
          {spectrum(s.ack)}
        </Text>
      ) : null}
      {chart.map((line, k) => (
        <Text key={k} wrap="truncate-end" color={color && k < chart.length - 1 ? 'cyan' : undefined} dimColor={k === chart.length - 1}>
          {line}
        </Text>
      ))}
      <HealthLine health={s.health} cores={s.health.cores} color={color} />
      <ThroughputLine history={throughput} columns={columns} color={color} />
      <Footer />
    </Box>
  )
}
