/**
 * Wall-clock time in a fleet's time zone, for schedules (`mode: {schedule: ...}`) and daily profiles (`sine`'s
 * `daily`): the same instant is 03:00 in Berlin and 21:00 in Chicago, and a building's night follows its own clock,
 * daylight-saving changes included.
 */

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Day = (typeof DAYS)[number]

/** One schedule entry: on these days (0 = Monday), between these minutes of the day, the device is in `mode`. */
export interface ScheduleEntry {
  days: readonly number[]
  /** Minutes after local midnight, start inclusive, end exclusive; end may be 1440. from > to spans midnight. */
  from: number
  to: number
  mode: string
}

/** Whether `timeZone` is an IANA zone this Node knows (Europe/Berlin, UTC, America/Chicago, ...). */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone})
    return true
  } catch {
    return false
  }
}

/**
 * Local time of epoch milliseconds in one zone: the offset is looked up once per quarter hour (zones change their
 * offset only on quarter hours), so a fleet pays Intl's cost a few times per simulated hour, not per message.
 */
export class LocalClock {
  private readonly format: Intl.DateTimeFormat | undefined
  private bucket = Number.NaN
  private offsetMs = 0

  constructor(timeZone: string | undefined) {
    this.format = timeZone === undefined || timeZone === 'UTC' ? undefined : new Intl.DateTimeFormat('en-US', {timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'})
  }

  /** Epoch ms shifted so that its UTC fields read as the local wall clock. */
  local(tsMs: number): number {
    if (!this.format) return tsMs
    const bucket = Math.floor(tsMs / 900_000)
    if (bucket !== this.bucket) {
      this.bucket = bucket
      const at = bucket * 900_000
      const parts = Object.fromEntries(this.format.formatToParts(at).map((p) => [p.type, p.value]))
      const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second))
      this.offsetMs = wall - at
    }
    return tsMs + this.offsetMs
  }
}

/** Day of the week (0 = Monday) and minute of the day of a local time from LocalClock.local. */
export function dayAndMinute(localMs: number): {day: number; minute: number} {
  const days = Math.floor(localMs / 86_400_000)
  // 1970-01-01 was a Thursday (3 with Monday = 0).
  return {day: (((days + 3) % 7) + 7) % 7, minute: Math.floor((localMs - days * 86_400_000) / 60_000)}
}

/** The mode the first matching entry names, or undefined when none matches. */
export function scheduledMode(entries: readonly ScheduleEntry[], localMs: number): string | undefined {
  const {day, minute} = dayAndMinute(localMs)
  for (const e of entries) {
    // An entry spanning midnight (22:00-06:00) belongs to the day it starts on.
    const inWindow = e.from <= e.to ? minute >= e.from && minute < e.to : minute >= e.from || minute < e.to
    const startDay = e.from > e.to && minute < e.to ? (day + 6) % 7 : day
    if (inWindow && e.days.includes(startDay)) return e.mode
  }
  return undefined
}
