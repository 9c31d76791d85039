/**
 * One status line that rewrites itself in place on an interactive stderr (record's and replay's progress): the one
 * place the cursor codes for it live, so commands draw no escape sequences themselves.
 */
export interface StatusLine {
  /** Replaces the line's text. */
  show(text: string): void
  /** Erases the line (before the summary is printed). */
  clear(): void
}

const CLEAR_LINE = '\r\x1b[2K'

export function statusLine(out: NodeJS.WritableStream = process.stderr): StatusLine {
  return {
    show: (text) => void out.write(`${CLEAR_LINE}${text}`),
    clear: () => void out.write(CLEAR_LINE),
  }
}
