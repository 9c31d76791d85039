import {Box, Text} from 'ink'
import type {SimSnapshot} from '../../sim/types.js'
import {FleetTable} from './fleet-table.js'
import {CommandLines, Footer, HealthLine, LatencyLine, ThroughputLine, TotalsLine} from './figure-lines.js'
import {ProgressLine, TitleLine} from './header.js'
import {planSimLayout} from './layout.js'
import {buildLiveTable} from './live-fleet-table.js'
import {liveCommandLines} from './live-command-lines.js'

export interface SimViewProps {
  /** Undefined until the first snapshot arrives. */
  snapshot?: SimSnapshot
  /** Total msg/s of recent snapshots, oldest first. */
  throughput: readonly number[]
  /** Terminal size; the frame is planned to stay shorter than `rows`. */
  rows: number
  columns: number
  color: boolean
  /** Scenario name shown in the title. */
  title?: string
  /** Cores usable by the run, for the client-bottleneck warning. */
  cores: number
}

/** The live area of `iotd sim`: title, progress, fleet table, command figures, latency, client health, throughput, footer. */
export function SimView({snapshot, throughput, rows, columns, color, title, cores}: SimViewProps) {
  if (!snapshot) {
    return (
      <Text wrap="truncate-end">
        <Text bold>iotd sim</Text>
        {title ? <Text bold>{`  ${title}`}</Text> : null}
        <Text dimColor> starting…</Text>
      </Text>
    )
  }
  const commands = liveCommandLines(snapshot.totals, columns)
  const layout = planSimLayout(rows, snapshot.fleets.length, commands.length)
  const table = layout.fleetRows > 0 ? buildLiveTable(snapshot.fleets, snapshot.totals, columns) : undefined
  return (
    <Box flexDirection="column" width={columns}>
      <TitleLine title={title} broker={snapshot.broker} stage={snapshot.stage} color={color} />
      {layout.progress ? (
        <ProgressLine elapsedMs={snapshot.elapsedMs} durationMs={snapshot.durationMs} columns={columns} color={color} />
      ) : null}
      {layout.spacing ? <Text> </Text> : null}
      {table ? <FleetTable table={table} fleetRows={layout.fleetRows} color={color} /> : <TotalsLine totals={snapshot.totals} color={color} />}
      {layout.commandLines > 0 ? <CommandLines lines={commands} color={color} /> : null}
      {layout.spacing ? <Text> </Text> : null}
      {layout.latency ? <LatencyLine publishLag={snapshot.publishLag} ackLatency={snapshot.ackLatency} /> : null}
      {layout.health ? <HealthLine health={snapshot.health} cores={cores} color={color} /> : null}
      {layout.sparkline ? <ThroughputLine history={throughput} columns={columns} color={color} /> : null}
      {layout.footer ? <Footer /> : null}
    </Box>
  )
}
