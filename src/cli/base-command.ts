import {Command, Flags, Interfaces} from '@oclif/core'
import {closestName} from '../config/did-you-mean.js'
import {ConfigError, EXIT_CODES, EXIT_CODE_HELP, IotdError} from '../errors.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/** Rendered into every command's help so exit codes are documented where users look. */
export const EXIT_CODES_HELP = Object.entries(EXIT_CODE_HELP)
  .map(([code, text]) => `  ${code.padEnd(4)}${text}`)
  .join('\n')

/**
 * Shared plumbing for every command: colour and verbosity flags, `--json`, and one place that turns core errors
 * into exit codes and one-line messages (no stack trace unless --verbose or DEBUG=iotd*).
 */
export abstract class BaseCommand extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    color: Flags.boolean({
      allowNo: true,
      default: true,
      helpGroup: 'GLOBAL',
      summary: 'Colour output (--no-color or NO_COLOR=1 turns it off).',
    }),
    verbose: Flags.boolean({helpGroup: 'GLOBAL', summary: 'Print stack traces and debug detail on errors.', env: 'IOTD_VERBOSE'}),
  }

  protected get verbose(): boolean {
    return this.argv.includes('--verbose') || /(^|,)iotd/.test(process.env.DEBUG ?? '') || process.env.IOTD_VERBOSE === '1'
  }

  /** Writes a line to stderr (progress, warnings), never to stdout which carries the product. */
  protected note(message: string): void {
    process.stderr.write(`${message}\n`)
  }

  /**
   * How every run-shaped command ends, after it printed its summary: a failure the summary covers exits 1, an
   * interrupted run 130, failed thresholds 99, otherwise 0. `error` is worded with `note` in brackets (default: the
   * summary covers the run until then); `failure` is a ready error for a run that did nothing it was asked. Under
   * --json the summary on stdout already carries the outcome, so no second document: the error and its suggestions go
   * to stderr as without --json, for the person or the CI log that sees only the exit code otherwise. Returns
   * undefined so oclif prints nothing more.
   */
  protected finishRun(
    end: {error?: string; interrupted?: boolean; failure?: IotdError; thresholdsFailed?: boolean},
    note = 'the summary above covers the run until then',
  ): undefined {
    if (end.error) this.endWith(new IotdError(note ? `${end.error} (${note})` : end.error, EXIT_CODES.runtime))
    if (end.interrupted) this.exit(EXIT_CODES.interrupted)
    if (end.failure) this.endWith(end.failure)
    if (end.thresholdsFailed) this.exit(EXIT_CODES.thresholds)
    return undefined
  }

  private endWith(error: IotdError): never {
    if (!this.jsonEnabled()) throw error
    this.writeError(error.message, error.suggestions, error)
    this.exit(error.exitCode)
  }

  /** `Error: …` and a `Try: …` line per suggestion on stderr (the stack too with --verbose). */
  private writeError(message: string, suggestions: string[], err: Error): void {
    const lines = [`Error: ${message}`]
    for (const s of suggestions) lines.push(`  Try: ${s}`)
    if (this.verbose && err.stack) lines.push(err.stack)
    process.stderr.write(`${lines.join('\n')}\n`)
  }

  protected override async catch(err: Error & {exitCode?: number; oclif?: {exit?: number}}): Promise<unknown> {
    if ((err as {code?: string}).code === 'EEXIT') throw err
    if (err instanceof IotdError) {
      return this.fail(err.message, err.exitCode, err.suggestions, err)
    }
    // oclif's own parse errors (unknown flag, missing argument) are usage errors.
    if (err.oclif?.exit === 2 || /Unexpected argument|Nonexistent flag|Missing required|Expected .* to be one of|Parsing --/.test(err.message)) {
      // oclif spreads the reason over several lines ("Parsing --port \n\tExpected an integer less than …"); keep it.
      const reason = err.message
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !/^See more help/.test(l))
        .join(' ')
      // Command ids are colon-separated inside oclif (modbus:read); users type them as the topic separator says.
      const command = (this.id ?? '').replaceAll(':', this.config.topicSeparator ?? ' ')
      return this.fail(`${reason}${this.didYouMean(err)}`, EXIT_CODES.usage, [`${this.config.bin} ${command} --help`.replace(/\s+/g, ' ').trim()], err)
    }
    return this.fail(err.message, EXIT_CODES.runtime, [], err)
  }

  /**
   * " (did you mean --threshold?)" for a misspelled flag name or a misspelled value of a flag with fixed options
   * (`--type flaot32`), from oclif's parse error; empty when nothing is close.
   */
  private didYouMean(err: Error): string {
    const flags = {...this.ctor.baseFlags, ...this.ctor.flags} as Record<string, {options?: readonly string[]} | undefined>
    const names = [...Object.keys(flags), ...(this.ctor.enableJsonFlag ? ['json'] : [])]
    const unknown = /^Nonexistent flags?: (.+)$/m.exec(err.message)
    if (unknown) {
      const typed = unknown[1].split(', ')
      const hints = typed.flatMap((t) => {
        const m = /^--([^=\s]+)/.exec(t.trim())
        const close = m ? closestName(m[1], names) : undefined
        return close ? [`${typed.length > 1 ? `--${m?.[1]}: ` : ''}did you mean --${close}?`] : []
      })
      return hints.length > 0 ? ` (${hints.join('; ')})` : ''
    }
    const option = /^Expected --([^=\s]+)=(.*) to be one of: /m.exec(err.message)
    if (option) {
      const close = closestName(option[2], flags[option[1]]?.options ?? [])
      return close ? ` (did you mean --${option[1]} ${close}?)` : ''
    }
    return ''
  }

  private fail(message: string, exitCode: number, suggestions: string[], err: Error): never {
    if (this.jsonEnabled()) {
      const problems = err instanceof ConfigError ? err.problems : undefined
      const more = err instanceof ConfigError && err.more > 0 ? err.more : undefined
      process.stdout.write(`${JSON.stringify({schemaVersion: 1, error: {message, exitCode, problems, more}}, null, 2)}\n`)
    } else this.writeError(message, suggestions, err)
    this.exit(exitCode)
  }
}
