/**
 * The one parser for durations, rates and sizes used by flags and config files alike.
 * Durations: `500ms`, `30s`, `5m`, `1h`, `1d`, `1h30m`, `250us`; a bare number is milliseconds.
 * Rates: `1000/s`, `60/m`, `5/h`, `2/500ms`; a bare number is per second.
 * Sizes: `100B`, `4KiB`, `1MiB`, `2KB`; a bare number is bytes.
 */
import {UsageError} from '../errors.js'

const DURATION_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
}

const DURATION_PART = /(\d+(?:\.\d+)?)\s*(ns|us|µs|ms|s|m|h|d)/y

/** Parses a duration to milliseconds (may be fractional). Throws a readable Error on bad input. */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw new Error(`duration must be a non-negative number, got ${input}`)
    return input
  }
  const text = input.trim()
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text)
  let total = 0
  let pos = 0
  DURATION_PART.lastIndex = 0
  while (pos < text.length) {
    DURATION_PART.lastIndex = pos
    const m = DURATION_PART.exec(text)
    if (!m) throw new Error(`"${input}" is not a duration (try 500ms, 30s, 5m, 1h)`)
    total += Number(m[1]) * DURATION_UNITS_MS[m[2]]
    pos = DURATION_PART.lastIndex
  }
  if (text.length === 0) throw new Error('empty duration')
  return total
}

/** Formats milliseconds as a short human duration (e.g. 1m30s, 250ms). */
export function formatDuration(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)}µs`
  if (ms < 1000) return `${Math.round(ms)}ms`
  if (ms < 59_950) return `${+(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)}s`
  // Whole seconds first, so 119.6 s reads 2m, never 1m60s.
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s'
}

/** Parses a rate to events per second. */
export function parseRate(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input <= 0) throw new Error(`rate must be a positive number, got ${input}`)
    return input
  }
  const text = input.trim()
  const m = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(.+))?$/.exec(text)
  if (!m) throw new Error(`"${input}" is not a rate (try 1000/s, 60/m)`)
  const count = Number(m[1])
  if (count <= 0) throw new Error(`rate must be positive, got "${input}"`)
  if (!m[2]) return count
  const per = /^\d/.test(m[2]) ? parseDuration(m[2]) : parseDuration(`1${m[2]}`)
  if (per <= 0) throw new Error(`"${input}" has a zero period`)
  return (count * 1000) / per
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
}

/** Parses a size to bytes. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isInteger(input) || input < 0) throw new Error(`size must be a whole number of bytes, got ${input}`)
    return input
  }
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(input.trim())
  const unit = m ? SIZE_UNITS[(m[2] || 'b').toLowerCase()] : undefined
  if (!m || unit === undefined) throw new Error(`"${input}" is not a size (try 100B, 4KiB, 1MiB)`)
  return Math.round(Number(m[1]) * unit)
}

/**
 * A flag's value through one of the unit parsers above (or any parser): undefined stays undefined, and a bad value
 * is a usage error that names the flag (`--duration: "5 minutes" is not a duration ...`). The one wrapper every
 * command and option reader uses, so a flag error reads the same everywhere.
 */
export function flagValue<V extends string | number, T>(flag: string, value: V, parse: (value: V) => T): T
export function flagValue<V extends string | number, T>(flag: string, value: V | undefined, parse: (value: V) => T): T | undefined
export function flagValue<V extends string | number, T>(flag: string, value: V | undefined, parse: (value: V) => T): T | undefined {
  if (value === undefined) return undefined
  try {
    return parse(value)
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`)
  }
}

/**
 * A duration typed on the command line (cli/flag-parsers' parseDurationFlag, and the core readers of flag text).
 * A bare number is milliseconds in a scenario or profile file (documented there, and YAML gives it as a number),
 * but typed on a command line `-d 5` means five seconds to nearly everyone and ran a 5 ms bench that exited 0.
 * A flag's text needs its unit; 0 is the same in every unit.
 */
export function durationFlagText(flag: string, value: string): number
export function durationFlagText(flag: string, value: string | undefined): number | undefined
export function durationFlagText(flag: string, value: string | undefined): number | undefined {
  if (value !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(value) && Number(value) !== 0) {
    const n = value.trim()
    throw new UsageError(`--${flag} ${n}: give a unit: ${n}s, ${n}m, ${n}ms`, ['durations on the command line take a unit: 500ms, 30s, 5m, 1h'])
  }
  return flagValue(flag, value, parseDuration)
}
