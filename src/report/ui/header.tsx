import {Text} from 'ink'
import {formatDuration} from '../../config/units.js'
import {redactUrl} from '../../net/mqtt-endpoint.js'
import {progressBar} from '../progress-bar.js'

export interface TitleLineProps {
  title?: string
  broker: string
  stage: string
  color: boolean
}

/** `iotd sim  smart-factory  → mqtt://host:1883  stage steady` */
export function TitleLine({title, broker, stage, color}: TitleLineProps) {
  return (
    <Text wrap="truncate-end">
      <Text bold>iotd sim</Text>
      {title ? <Text bold>{`  ${title}`}</Text> : null}
      <Text dimColor>{'  → '}</Text>
      {redactUrl(broker)}
      <Text dimColor>{'  stage '}</Text>
      <Text color={color ? 'cyan' : undefined}>{stage}</Text>
    </Text>
  )
}

export interface ProgressLineProps {
  elapsedMs: number
  durationMs?: number
  columns: number
  color: boolean
}

/** `12.3s / 20s  ████████▌░░░░░  61%`, or the elapsed time alone for a run without a planned length. */
export function ProgressLine({elapsedMs, durationMs, columns, color}: ProgressLineProps) {
  if (durationMs === undefined || durationMs <= 0) {
    return (
      <Text wrap="truncate-end">
        {formatDuration(elapsedMs)}
        <Text dimColor> elapsed, runs until stopped</Text>
      </Text>
    )
  }
  const fraction = Math.min(1, elapsedMs / durationMs)
  const bar = progressBar(fraction, Math.max(10, Math.min(40, columns - 30)))
  return (
    <Text wrap="truncate-end">
      {`${formatDuration(elapsedMs)} / ${formatDuration(durationMs)}  `}
      <Text color={color ? 'cyan' : undefined}>{bar.filled}</Text>
      <Text dimColor>{bar.empty}</Text>
      {`  ${Math.floor(fraction * 100)}%`}
    </Text>
  )
}
