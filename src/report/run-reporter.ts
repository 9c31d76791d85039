/** What a command drives while a run is going; one implementation per output mode. */

export type LogLevel = 'info' | 'warn' | 'error'

export interface RunReporter<S, R> {
  /** The latest figures, about once a second. */
  update(snapshot: S): void
  /** An event worth a line (stage change, broker note, warning): stderr, or above the live view. */
  log(line: string, level?: LogLevel): void
  /** Stops any live view and prints the final summary (text, or JSON in json mode) to stdout. Idempotent. */
  finish(summary: R): Promise<void>
  /** Stops any live view without a summary, when the run failed before it had one; the error is printed after. */
  close(): Promise<void>
}

/** The streams and switches every reporter takes; defaults are the process's own. */
export interface ReporterStreams {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
}
