import {Text} from 'ink'
import type {ClientHealth, LatencyFigures} from '../../sim/types.js'
import {clientBottleneck} from '../client-health.js'
import {formatBytes, formatMs, formatNumber, formatPercent, formatRateValue} from '../../metrics/format.js'
import {sparkline} from '../sparkline.js'
import type {LiveFleet} from './live-fleet-table.js'
import {FIGURE_LABEL_WIDTH, type CommandLine} from './live-command-lines.js'
import {toneColour} from './tone.js'

/** A figure line's label, dim and padded so the values of every figure line (sim's and bench's) line up. */
export function Label({text}: {text: string}) {
  return <Text dimColor>{text.padEnd(FIGURE_LABEL_WIDTH)}</Text>
}

/** The totals on one line, for terminals too short for the fleet table. */
export function TotalsLine({totals, color}: {totals: LiveFleet; color: boolean}) {
  const warn = (n: number) => (color && n > 0 ? 'yellow' : undefined)
  return (
    <Text wrap="truncate-end" bold>
      {`total  ${formatNumber(totals.connected)}/${formatNumber(totals.target)} connected  ${formatRateValue(totals.msgRate)} msg/s  `}
      {`${formatNumber(totals.published)} published  `}
      <Text color={color && totals.errors > 0 ? 'red' : undefined}>{`${formatNumber(totals.errors)} errors`}</Text>
      {'  '}
      <Text color={warn(totals.late)}>{`${formatNumber(totals.late)} late`}</Text>
      {'  '}
      <Text color={warn(totals.dropped)}>{`${formatNumber(totals.dropped)} dropped`}</Text>
    </Text>
  )
}

/** The command figures (live-command-lines.ts), one line each; failures and replies not sent in warning tone. */
export function CommandLines({lines, color}: {lines: readonly CommandLine[]; color: boolean}) {
  return (
    <>
      {lines.map((line) => (
        <Text key={line.label} wrap="truncate-end">
          <Label text={line.label} />
          {line.figures.map((f, i) => (
            <Text key={i}>
              {i > 0 ? line.gap : ''}
              <Text color={toneColour(f.tone, color)}>{f.text}</Text>
            </Text>
          ))}
        </Text>
      ))}
    </>
  )
}

function figures(l: LatencyFigures, withMax: boolean): string {
  if (l.count === 0) return '-'
  return `p50 ${formatMs(l.p50)}  p99 ${formatMs(l.p99)}${withMax ? `  max ${formatMs(l.max)}` : ''}`
}

/** Publish lag (send time minus due time) and QoS 1/2 ack latency of the last interval. */
export function LatencyLine({publishLag, ackLatency}: {publishLag: LatencyFigures; ackLatency: LatencyFigures}) {
  return (
    <Text wrap="truncate-end">
      <Label text="publish lag" />
      {figures(publishLag, true)}
      <Text dimColor>{'    qos≥1 ack  '}</Text>
      {ackLatency.count === 0 ? <Text dimColor>none</Text> : figures(ackLatency, false)}
    </Text>
  )
}

export interface HealthLineProps {
  health: ClientHealth
  cores: number
  color: boolean
}

/** The client's own CPU, memory and event-loop lag, with a warning when iotd rather than the broker is the limit. */
export function HealthLine({health, cores, color}: HealthLineProps) {
  const bottleneck = clientBottleneck(health, cores)
  const tone = bottleneck && color ? 'yellow' : undefined
  return (
    <Text wrap="truncate-end">
      <Label text="client" />
      <Text color={tone}>
        {`cpu ${formatPercent(health.cpuPercent)}  rss ${formatBytes(health.rssBytes)}  loop lag p99 ${formatMs(health.eventLoopLagP99Ms)}`}
      </Text>
      {bottleneck ? <Text color={tone} bold>{'  ⚠ client bottleneck'}</Text> : null}
    </Text>
  )
}

export interface ThroughputLineProps {
  /** msg/s per second, oldest first. */
  history: readonly number[]
  columns: number
  color: boolean
}

/** A sparkline of the last minute of total msg/s, with the current and peak value. */
export function ThroughputLine({history, columns, color}: ThroughputLineProps) {
  const now = history.length ? history[history.length - 1] : 0
  const peak = Math.max(0, ...history)
  const tail = `  ${formatRateValue(now)} now  peak ${formatRateValue(peak)}`
  const width = Math.max(0, Math.min(60, columns - FIGURE_LABEL_WIDTH - tail.length - 1))
  return (
    <Text wrap="truncate-end">
      <Label text="msg/s" />
      <Text color={color ? 'cyan' : undefined}>{sparkline(history, width)}</Text>
      <Text dimColor>{tail}</Text>
    </Text>
  )
}

export function Footer() {
  return <Text dimColor>Ctrl-C to stop</Text>
}
