/**
 * Column layout for aligned text tables (the end-of-run summary, the live view's fleet table). It works on plain
 * strings and returns padded cells, so callers colour a cell after padding and escape codes never skew widths.
 */

export type Align = 'left' | 'right'

export interface ColumnSpec {
  header: string
  align: Align
  /** Cap on the column width; longer cells are cut with an ellipsis (used for user-chosen names). */
  maxWidth?: number
}

/** Display width in terminal cells. Scenario names are the only free text here; counting code points suffices. */
export function displayWidth(text: string): number {
  return [...text].length
}

export function truncate(text: string, width: number): string {
  if (displayWidth(text) <= width) return text
  if (width <= 1) return [...text].slice(0, width).join('')
  return `${[...text].slice(0, width - 1).join('')}…`
}

export function pad(text: string, width: number, align: Align): string {
  const gap = Math.max(0, width - displayWidth(text))
  return align === 'right' ? ' '.repeat(gap) + text : text + ' '.repeat(gap)
}

export interface TableLayout {
  widths: number[]
  /** Padded header cells. */
  header: string[]
  /** Padded body cells, row by row. */
  rows: string[][]
}

/** Widths fit the widest cell (header included) of each column, capped by maxWidth. */
export function layoutTable(columns: readonly ColumnSpec[], rows: ReadonlyArray<readonly string[]>): TableLayout {
  const widths = columns.map((col, i) => {
    const widest = Math.max(displayWidth(col.header), ...rows.map((r) => displayWidth(r[i] ?? '')))
    return col.maxWidth === undefined ? widest : Math.min(widest, col.maxWidth)
  })
  const cell = (text: string, i: number) => pad(truncate(text, widths[i]), widths[i], columns[i].align)
  return {
    widths,
    header: columns.map((col, i) => cell(col.header, i)),
    rows: rows.map((r) => columns.map((_col, i) => cell(r[i] ?? '', i))),
  }
}
