import {flagValue, parseDuration, parseRate, parseSize} from '../config/units.js'

/** Flag values go through the same unit parsers as config files; a bad one is a usage error naming the flag (flagValue). */
export function parseDurationFlag(flag: string, value: string | undefined): number | undefined {
  return flagValue(flag, value, parseDuration)
}

export function parseRateFlag(flag: string, value: string | undefined): number | undefined {
  return flagValue(flag, value, parseRate)
}

export function parseSizeFlag(flag: string, value: string | undefined): number | undefined {
  return flagValue(flag, value, parseSize)
}
