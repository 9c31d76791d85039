/**
 * Replay's own flag values (time bounds, loops, speed): forms no config file has. Errors are UsageErrors naming the
 * flag; unit values (durations, rates, sizes) go through config/units.ts (durationFlagText, flagValue) like every other flag.
 */
import {durationFlagText} from '../config/units.js'
import {UsageError} from '../errors.js'
import type {ReplayStart} from './replay.js'

/** `--start`/`--end`: ISO-8601, epoch ms, or `+5m` (an offset from the capture's first row). */
export function timeBoundFlag(flag: string, value: string | undefined): ReplayStart | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (v.startsWith('+')) return {offsetMs: durationFlagText(flag, v.slice(1))}
  if (/^\d+$/.test(v)) return Number(v)
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/i.test(v) || !/[T ]\d/.test(v) ? v : `${v}Z`
  const t = Date.parse(zoned.replace(' ', 'T'))
  if (!Number.isFinite(t)) throw new UsageError(`--${flag}: "${value}" is not a time (ISO-8601, epoch ms, or +10m from the first row)`)
  return t
}

/** `--loop 3` or `--loop forever`. */
export function loopFlag(value: string | undefined): number {
  if (value === undefined) return 1
  if (/^(forever|inf|infinite)$/i.test(value.trim())) return Number.POSITIVE_INFINITY
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--loop: "${value}" is not a number of passes (1, 2, ... or forever)`)
  return n
}

/** `--speed 10`, `--speed 0.5`, `--speed 2x`. */
export function speedFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value.trim().replace(/x$/i, ''))
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--speed: "${value}" is not a positive factor (0.5, 1, 10)`)
  return n
}
