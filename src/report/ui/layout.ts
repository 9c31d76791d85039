/**
 * Which parts of the live view fit a terminal of `rows` lines. The frame must stay shorter than the terminal:
 * Ink clears the whole screen on every frame once the output reaches the terminal height, and it keeps the cursor
 * on the line below the frame, so the budget is rows - 1. Pure, so the rule is tested without a terminal.
 */

export interface SimLayout {
  progress: boolean
  latency: boolean
  health: boolean
  footer: boolean
  sparkline: boolean
  /** Lines of command figures shown (under the fleet table), 0 when the run got no command or they do not fit. */
  commandLines: number
  /** Fleet rows shown in the table; 0 means no table, only the one-line totals. */
  fleetRows: number
  /** Fleets that did not fit (shown as "… and N more fleets"). */
  hiddenFleets: number
  /** Blank lines between sections, only when everything else fits. */
  spacing: boolean
}

/** Lines the frame will take for a layout (the same arithmetic the view uses). */
export function layoutHeight(l: SimLayout): number {
  const table = l.fleetRows > 0 ? 1 + l.fleetRows + (l.hiddenFleets > 0 ? 1 : 0) : 0
  const sections = [l.progress, l.latency, l.health, l.footer, l.sparkline].filter(Boolean).length
  // title + totals line (a table row when the table is shown) + table header/fleet rows + sections + spacers
  return 2 + table + sections + l.commandLines + (l.spacing ? SPACER_LINES : 0)
}

const SPACER_LINES = 2

/**
 * Fills the budget in order of what a person watching a run needs most: the title and totals always, then
 * progress, the command figures (`commandLines` of them, once the run got commands; all or none), latency, client
 * health, the footer, the throughput chart, then as many fleet rows as fit, then air.
 */
export function planSimLayout(rows: number, fleetCount: number, commandLines = 0): SimLayout {
  let budget = Math.max(1, rows - 1) - 2
  const take = (lines: number) => {
    if (budget < lines) return false
    budget -= lines
    return true
  }
  const progress = take(1)
  const commands = commandLines > 0 && take(commandLines) ? commandLines : 0
  const latency = take(1)
  const health = take(1)
  const footer = take(1)
  const sparkline = take(1)
  let fleetRows = 0
  let hiddenFleets = 0
  if (fleetCount > 0 && budget >= 1 + fleetCount) {
    fleetRows = fleetCount
    budget -= 1 + fleetCount
  } else if (fleetCount > 0 && budget >= 3) {
    // header + some fleets + the "more" line
    fleetRows = budget - 2
    hiddenFleets = fleetCount - fleetRows
    budget = 0
  }
  const spacing = take(SPACER_LINES)
  return {progress, latency, health, footer, sparkline, commandLines: commands, fleetRows, hiddenFleets, spacing}
}
