import {parseDuration, parseRate} from '../config/units.js'
import {UsageError} from '../errors.js'

/** Flag values go through the same unit parser as config files; a bad one is a usage error naming the flag. */
export function parseDurationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseDuration(value)
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`)
  }
}

export function parseRateFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  try {
    return parseRate(value)
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`)
  }
}
