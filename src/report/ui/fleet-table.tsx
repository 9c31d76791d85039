import {Box, Text} from 'ink'
import {CELL_GAP, type Cell, type LiveTable} from './live-fleet-table.js'
import {toneColour} from './tone.js'

export interface FleetTableProps {
  table: LiveTable
  /** How many fleet rows fit (the layout decides); the rest are counted in one line. */
  fleetRows: number
  color: boolean
}

function Row({cells, color, bold}: {cells: Cell[]; color: boolean; bold?: boolean}) {
  return (
    <Text wrap="truncate-end" bold={bold}>
      {cells.map((cell, i) => (
        <Text key={i}>
          {i > 0 ? CELL_GAP : ''}
          <Text color={toneColour(cell.tone, color)}>{cell.text}</Text>
          {cell.rest ? <Text dimColor>{cell.rest}</Text> : null}
        </Text>
      ))}
    </Text>
  )
}

/** Header, one row per fleet that fits, "… and N more fleets", and the totals row. */
export function FleetTable({table, fleetRows, color}: FleetTableProps) {
  const shown = table.rows.slice(0, fleetRows)
  const hidden = table.rows.length - shown.length
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end" dimColor>
        {table.header}
      </Text>
      {shown.map((cells, i) => (
        <Row key={i} cells={cells} color={color} />
      ))}
      {hidden > 0 ? (
        <Text wrap="truncate-end" dimColor>
          {`… and ${hidden} more fleet${hidden === 1 ? '' : 's'}`}
        </Text>
      ) : null}
      <Row cells={table.totals} color={color} bold />
    </Box>
  )
}
