import type {FleetCounters} from '../../sim/types.js'
import {formatNumber} from '../../metrics/format.js'
import {commandFigures, type CommandCount} from '../command-figures.js'
import type {CellTone} from './live-fleet-table.js'

/**
 * The live view's command figures, the run's totals, in the words of the progress lines and the summary:
 *
 *   commands     1,200 received  1,150 applied  20 failed  3 ignored  27 waiting
 *   replies      1,140 replied  10 not sent
 *
 * received = applied + failed + ignored + waiting. Under the fleet table rather than in it: beside the telemetry
 * columns they made an 80-column table wider than the screen, cut to `c…`. On one line when it fits the terminal.
 * Computed without Ink, so the wording and the fitting are tested as plain text.
 */

export interface CommandFigure {
  text: string
  tone: CellTone
}

export interface CommandLine {
  label: string
  figures: CommandFigure[]
  /** Between figures: two spaces, one where two would not fit the terminal. */
  gap: string
}

/** Labels of the live view's figure lines (these and figure-lines.tsx's) share one width so the values line up under each other. */
export const FIGURE_LABEL_WIDTH = 13

const compact = {compact: true}
/** Compact counts; a reply not sent is `not sent` here, on the replies line or after `replied`. */
const figure = (x: CommandCount): CommandFigure => ({text: `${formatNumber(x.count, compact)} ${x.kind === 'notSent' ? 'not sent' : x.noun}`, tone: x.warn ? 'warn' : 'plain'})

/** No lines until a command arrived; then the commands line, and the replies (beside it when the terminal is wide enough). */
export function liveCommandLines(t: FleetCounters, columns: number): CommandLine[] {
  if (t.commandsReceived === 0) return []
  const figures = commandFigures(t)
  const fate = figures.fate.map(figure)
  const replies = figures.replies.map(figure)
  const width = (figures: CommandFigure[], gap: string) => FIGURE_LABEL_WIDTH + figures.reduce((sum, f, i) => sum + (i > 0 ? gap.length : 0) + [...f.text].length, 0)
  const line = (label: string, figures: CommandFigure[]): CommandLine => ({label, figures, gap: width(figures, '  ') <= columns ? '  ' : ' '})
  const together = [...fate, {text: '·', tone: 'plain' as const}, ...replies]
  if (width(together, '  ') <= columns) return [line('commands', together)]
  return [line('commands', fate), line('replies', replies)]
}
