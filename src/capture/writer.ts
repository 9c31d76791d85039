import {stringify, type Stringifier} from 'csv-stringify'
import {CAPTURE_COLUMNS, CAPTURE_COLUMNS_WITH_PROPERTIES} from './format.js'

/**
 * A csv-stringify transform that writes the capture header and quotes by RFC 4180 (fields with a comma, quote,
 * CR or LF are quoted; quotes doubled). Feed it rows from captureRow(); pipe it into a file.
 */
export function createCaptureStringifier(opts: {properties?: boolean; header?: boolean} = {}): Stringifier {
  return stringify({
    header: opts.header ?? true,
    columns: [...(opts.properties ? CAPTURE_COLUMNS_WITH_PROPERTIES : CAPTURE_COLUMNS)],
    // RFC 4180 line ends are CRLF, but every CSV reader accepts LF and files diff better with it; the reader takes both.
    record_delimiter: 'unix',
  })
}

/** One RFC 4180 cell: quoted when it holds a comma, quote, CR or LF (as csv-stringify quotes), quotes doubled. */
export function csvCell(value: string | number): string {
  const s = typeof value === 'number' ? String(value) : value
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** A capture row as one line, LF-terminated: the hot path of `iotd record` (no stream per row). */
export function csvLine(row: ReadonlyArray<string | number>): string {
  let out = ''
  for (let i = 0; i < row.length; i++) out += (i === 0 ? '' : ',') + csvCell(row[i])
  return `${out}\n`
}

export function captureHeaderLine(withProperties: boolean): string {
  return csvLine(withProperties ? CAPTURE_COLUMNS_WITH_PROPERTIES : CAPTURE_COLUMNS)
}
