import {z} from 'zod'
import {closestName} from '../../config/did-you-mean.js'
import {DAYS, isTimeZone, type ScheduleEntry} from '../generators/calendar.js'

/**
 * Calendars in scenario files: a fleet's `timezone` and the `schedule` of its `mode:` (calendar.ts runs them).
 *
 *   mode:
 *     initial: eco                   # outside every entry
 *     schedule:
 *       - {days: mon-fri, from: "06:00", to: "19:00", mode: comfort}
 *       - {days: sat, from: "08:00", to: "13:00", mode: comfort}
 */

const DAY_WORDS = ['weekdays', 'weekend', 'daily']
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6]

// 24:00 is the end of the day (a window `to: "24:00"`); one regex, so an editor's JSON Schema check refuses what lint
// refuses (it took 24:59 and left the rest to a refine).
const TIME = /^(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/

/** Minutes after local midnight of a time `TIME` matched. */
function minutes(text: string): number {
  const m = TIME.exec(text) as RegExpExecArray
  return Number(m[1] ?? m[3]) * 60 + Number(m[2] ?? m[4])
}

const time = z.string().regex(TIME, 'a time of day is HH:MM, 00:00 to 24:00')

/** "mon-fri", "sat,sun", "weekdays", "weekend", or a list of those: the day numbers (0 = Monday). */
function parseDays(value: string | string[], ctx: z.RefinementCtx): number[] {
  const tokens = (Array.isArray(value) ? value : [value]).flatMap((v) => v.split(',')).map((t) => t.trim().toLowerCase())
  const out = new Set<number>()
  for (const token of tokens) {
    const named = token === 'weekdays' ? 'mon-fri' : token === 'weekend' ? 'sat-sun' : token === 'daily' ? 'mon-sun' : token
    const [a, b] = named.split('-')
    const from = DAYS.indexOf(a as (typeof DAYS)[number])
    const to = b === undefined ? from : DAYS.indexOf(b as (typeof DAYS)[number])
    if (from < 0 || to < 0) {
      // The part that is not a day: the whole token may be a misspelt word (wekdays), one end of a range only a day.
      const hint = b === undefined ? closestName(a, [...DAYS, ...DAY_WORDS]) : closestName(from < 0 ? a : b, DAYS)
      const mean = hint === undefined ? '' : `; did you mean ${b === undefined ? hint : from < 0 ? `${hint}-${b}` : `${a}-${hint}`}?`
      ctx.addIssue({code: 'custom', message: `"${token}" is not a day${mean} (mon, tue, wed, thu, fri, sat, sun; a range such as mon-fri; weekdays, weekend or daily)`})
      continue
    }
    // A range may wrap the week: fri-mon is fri, sat, sun, mon.
    for (let d = from; ; d = (d + 1) % 7) {
      out.add(d)
      if (d === to) break
    }
  }
  return [...out].sort((x, y) => x - y)
}

export const scheduleEntrySchema = z
  .strictObject({
    days: z
      .union([z.string(), z.array(z.string()).min(1)])
      .optional()
      // Parsed here, not in the entry's transform, so a day that is not one is reported at the `days` key.
      .transform((days, ctx) => (days === undefined ? EVERY_DAY : parseDays(days, ctx)))
      .meta({description: 'Days it applies on: mon..sun, a range (mon-fri), weekdays, weekend, daily, or a list. Default: every day.'}),
    from: time.optional().meta({description: 'Local start time HH:MM (default 00:00).'}),
    to: time.optional().meta({description: 'Local end time HH:MM, exclusive (default 24:00); before from, the window runs past midnight.'}),
    mode: z.string().min(1).meta({description: 'The mode of the device inside this window.'}),
  })
  .superRefine((e, ctx) => {
    // This runs even when from or to failed its regex (zod refines an object whose fields have issues), so compare
    // the text, which for two valid times is comparing the minutes, and stay quiet about a time already reported.
    if (e.from !== undefined && e.from === e.to && TIME.test(e.from)) ctx.addIssue({code: 'custom', path: ['to'], message: `from and to are both ${e.from}: the window is empty`})
  })
  .transform((e): ScheduleEntry => ({
    days: e.days,
    from: e.from === undefined ? 0 : minutes(e.from),
    to: e.to === undefined ? 1440 : minutes(e.to),
    mode: e.mode,
  }))

export const timezoneSchema = z
  .string()
  .superRefine((tz, ctx) => {
    if (isTimeZone(tz)) return
    const close = closestTimeZone(tz)
    ctx.addIssue({code: 'custom', message: `"${tz}" is not a time zone this system knows${close ? `; did you mean ${close}?` : ''} (an IANA name such as Europe/Berlin, America/Chicago or UTC)`})
  })
  .meta({description: 'IANA time zone of the fleet\'s schedules and daily profiles, e.g. Europe/Berlin (default UTC).'})

/**
 * The zone a misspelt one was meant to be: the closest IANA name (`Europe/Berln`), or else the zone whose city the
 * name is or is close to (`Berlin`, `Chicgo`), as long as one city fits.
 */
function closestTimeZone(tz: string): string | undefined {
  const zones = [...Intl.supportedValuesOf('timeZone'), 'UTC']
  const whole = closestName(tz, zones)
  if (whole !== undefined || tz.includes('/')) return whole
  const byCity = new Map<string, string[]>()
  for (const zone of zones) {
    const city = zone.slice(zone.lastIndexOf('/') + 1)
    byCity.set(city, [...(byCity.get(city) ?? []), zone])
  }
  const city = closestName(tz.replace(/ /g, '_'), byCity.keys())
  const found = city === undefined ? [] : (byCity.get(city) ?? [])
  return found.length === 1 ? found[0] : undefined
}
