/**
 * Big generated input files (captures, CSVs of a million rows) written in one go: the rows are joined into ~1 MiB
 * strings first, so neither one string per row nor one string for the whole file is built.
 */
import {writeFileSync} from 'node:fs'

/** Writes `header`, then `line(0)` … `line(rows - 1)` (each ending in its own newline), to `file`; returns `file`. */
export function writeRowsFile(file: string, header: string, rows: number, line: (i: number) => string): string {
  const chunks: string[] = [header]
  let text = ''
  for (let i = 0; i < rows; i++) {
    text += line(i)
    if (text.length > 1 << 20) {
      chunks.push(text)
      text = ''
    }
  }
  chunks.push(text)
  writeFileSync(file, chunks.join(''))
  return file
}
