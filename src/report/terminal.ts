import {Chalk, type ChalkInstance} from 'chalk'

/**
 * The one place that decides how a run is shown. Ink itself only special-cases CI (and still writes cursor escapes
 * into pipes), so the choice of a live view is made here, from the stream and environment, before Ink is loaded.
 */

export type OutputMode = 'interactive' | 'plain' | 'json' | 'quiet'

/** The parts of a stream the choice depends on; a real `process.stdout` fits. */
export interface TerminalLike {
  isTTY?: boolean
  columns?: number
  rows?: number
}

export interface OutputModeOptions {
  json: boolean
  quiet?: boolean
  stdout?: TerminalLike
  env?: NodeJS.ProcessEnv
}

/** Same rule as Ink's CI detection (`CI=0` and `CI=false` mean "not CI"), so both agree on what CI is. */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const set = (key: string) => env[key] !== undefined && env[key] !== '0' && env[key] !== 'false'
  return set('CI') || set('CONTINUOUS_INTEGRATION')
}

/**
 * `json` wins (stdout carries the JSON document), then `quiet`; a live view only on a real terminal that is not CI
 * and not `TERM=dumb`; everything else gets plain lines.
 */
export function chooseOutputMode(opts: OutputModeOptions): OutputMode {
  if (opts.json) return 'json'
  if (opts.quiet) return 'quiet'
  const stdout = opts.stdout ?? process.stdout
  const env = opts.env ?? process.env
  if (!stdout.isTTY || isCi(env) || env.TERM === 'dumb') return 'plain'
  return 'interactive'
}

/**
 * Colour for one stream: only when enabled (`--color`, default on), the stream is a terminal, and the environment
 * allows it. bin/run.js maps NO_COLOR and --no-color onto FORCE_COLOR=0, which chalk reads into its level; a
 * FORCE_COLOR above 0 colours even pipes, as the user asked for.
 */
export function colorEnabledFor(stream: TerminalLike, enabled: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!enabled) return false
  const force = env.FORCE_COLOR
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false'
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  return stream.isTTY === true && env.TERM !== 'dumb'
}

/** A chalk instance that colours only when `color` is true (basic 16 colours then: every terminal has them). */
export function paint(color: boolean): ChalkInstance {
  return new Chalk({level: color ? 1 : 0})
}
