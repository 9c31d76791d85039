/**
 * Event time read from a payload field, as a source's `timestamp:` says: which field, and in what format. Devices
 * disagree on the unit (compressors send epoch seconds, loggers microseconds, gateways ISO text); reading seconds as
 * milliseconds puts every event in 1970, where every window has long closed, so the format is stated, not guessed.
 * Text formats (iso, patterns) are csv-mapping.ts's, so a CSV time column and a payload field read alike.
 */
import {toEpochMs} from './records.js'
import {timeParser, type TimeParser} from './sources/csv-mapping.js'

/** The formats with a name; anything else is a pattern of YYYY MM DD HH mm ss SSS. */
export const EVENT_TIME_FORMATS = ['epoch-s', 'epoch-ms', 'epoch-us', 'iso'] as const

/** A payload value -> epoch ms, or undefined when it is not a time in the format. */
export type EventTimeReader = (value: unknown) => number | undefined

/**
 * The reader of `format`; without one, numbers are epoch ms and text ISO-8601 (or digits, read as epoch ms).
 * Throws an Error with a one-line reason for a pattern that cannot be read (no YYYY, MM and DD).
 */
export function eventTimeReader(format: string | undefined): EventTimeReader {
  if (format === undefined) return toEpochMs
  const scale = format === 'epoch-s' ? 1000 : format === 'epoch-ms' ? 1 : format === 'epoch-us' ? 0.001 : undefined
  const text: TimeParser = timeParser(format)
  return (v) => {
    let ms: number
    if (typeof v === 'number') {
      // A number is a count of units; iso and patterns are text, so a number is not a time in them.
      if (scale === undefined) return undefined
      ms = v * scale
    } else if (typeof v === 'string') ms = text(v)
    else return undefined
    return Number.isFinite(ms) ? ms : undefined
  }
}

/** Further back than this from the clock, a live source's time is worth a word (seconds read as milliseconds). */
export const IMPLAUSIBLY_OLD_MS = 365 * 24 * 3600 * 1000
