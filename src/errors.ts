/**
 * Exit codes are data: one table, rendered into every command's help and used by the base command.
 * The core throws these errors; only the CLI layer turns them into a process exit code.
 */
export const EXIT_CODES = {
  ok: 0,
  runtime: 1,
  usage: 2,
  thresholds: 99,
  interrupted: 130,
} as const

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES]

export const EXIT_CODE_HELP: Record<ExitCode, string> = {
  0: 'success',
  1: 'runtime failure (broker unreachable after retries, I/O error)',
  2: 'usage or configuration error (bad flag, bad scenario or pipeline file)',
  99: 'one or more thresholds failed (or report compare found a regression beyond the tolerance)',
  130: 'interrupted (Ctrl-C / SIGTERM) after printing the partial summary',
}

/** A problem at a place in a config file. */
export interface SourceLocation {
  file: string
  line: number
  col: number
}

export interface ConfigProblem extends Partial<SourceLocation> {
  message: string
  /** Dotted path inside the document, e.g. fleets[0].fields.temp.min */
  path?: string
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}:${p.col ?? 1}` : ''}: ` : ''
  return `${where}${p.message}`
}

export class IotdError extends Error {
  readonly exitCode: ExitCode
  readonly suggestions: string[]
  constructor(message: string, exitCode: ExitCode = EXIT_CODES.runtime, suggestions: string[] = []) {
    super(message)
    this.name = 'IotdError'
    this.exitCode = exitCode
    this.suggestions = suggestions
  }
}

/** At most this many problems are shown (and kept in `problems`); the rest are counted in `more`. */
export const MAX_PROBLEMS_SHOWN = 20

/**
 * A config file (scenario, pipeline, profile) that does not validate. Carries the first MAX_PROBLEMS_SHOWN problems
 * found, and how many more there were: a garbage file must not print megabytes of errors.
 */
export class ConfigError extends IotdError {
  readonly problems: ConfigProblem[]
  /** Problems found beyond those kept. */
  readonly more: number
  constructor(problems: ConfigProblem[], suggestions: string[] = [], more = 0) {
    const shown = problems.slice(0, MAX_PROBLEMS_SHOWN)
    const hidden = problems.length - shown.length + more
    const tail = hidden > 0 ? [`… and ${hidden.toLocaleString('en-US')} more problem${hidden === 1 ? '' : 's'}`] : []
    super([...shown.map(formatProblem), ...tail].join('\n'), EXIT_CODES.usage, suggestions)
    this.name = 'ConfigError'
    this.problems = shown
    this.more = hidden
  }
}

export class UsageError extends IotdError {
  constructor(message: string, suggestions: string[] = []) {
    super(message, EXIT_CODES.usage, suggestions)
    this.name = 'UsageError'
  }
}
