/**
 * Issue #14, acceptance 4: two weeks of the shipped smart-building, backfilled (its HVAC and occupancy fleets),
 * checked hour by hour in the building's own time zone — the fortnight spans the change to summer time:
 * nobody on weekday nights, a few people on Saturday mornings and nobody on Sunday, HVAC in comfort mode exactly
 * in weekday working hours and in eco mode otherwise.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runBackfill} from '../../../src/sim/backfill.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

const FROM = Date.parse('2026-03-23T00:00:00+01:00') // a Monday, Berlin; summer time starts on Sunday 29 March
const TO = FROM + 14 * 86_400_000

/** Weekday and hour in Berlin, from Intl (not from iotd's calendar), cached per UTC hour. */
const local = (() => {
  const format = new Intl.DateTimeFormat('en-GB', {timeZone: 'Europe/Berlin', weekday: 'short', hour: '2-digit', hourCycle: 'h23'})
  const cache = new Map<number, {day: string; hour: number; key: string}>()
  return (tsMs: number) => {
    const bucket = Math.floor(tsMs / 3_600_000)
    let v = cache.get(bucket)
    if (!v) {
      const parts = Object.fromEntries(format.formatToParts(bucket * 3_600_000).map((p) => [p.type, p.value]))
      v = {day: parts.weekday, hour: Number(parts.hour), key: `${bucket}`}
      cache.set(bucket, v)
    }
    return v
  }
})()

const WEEKDAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])

describe('smart-building follows its calendar', () => {
  it('a two-week backfill: occupancy and HVAC modes hour by hour', async () => {
    const scenario = loadScenario('scenarios/smart-building.yaml')
    const out = join(mkdtempSync(join(tmpdir(), 'iotd-building-')), 'two-weeks.jsonl')
    const summary = await runBackfill({scenario, devices: expandDevices(scenario, {fleets: ['hvac', 'occupancy']}), fromMs: FROM, toMs: TO, out, format: 'jsonl'})
    expect(summary.devices).toBe(21)

    const hvacHours = new Map<string, {comfort: number; eco: number; setpoints: Set<number>; day: string; hour: number}>()
    const people = {weekdayNight: [] as number[], weekdayWork: [] as number[], saturdayMorning: [] as number[], otherWeekend: [] as number[]}
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      if (!line) continue
      const row = JSON.parse(line) as {ts: number; topic: string; payload: string}
      const {day, hour, key} = local(row.ts)
      if (row.topic.includes('/hvac/')) {
        const body = JSON.parse(row.payload) as {mode: string; setpoint: number}
        const h = hvacHours.get(key) ?? {comfort: 0, eco: 0, setpoints: new Set<number>(), day, hour}
        if (body.mode === 'comfort') h.comfort++
        else if (body.mode === 'eco') h.eco++
        h.setpoints.add(body.setpoint)
        hvacHours.set(key, h)
      } else if (row.topic.includes('/occupancy/')) {
        const [, count, occupied] = row.payload.split(',')
        const n = Number(count)
        expect(occupied).toBe(String(n > 0))
        if (WEEKDAYS.has(day)) (hour < 7 || hour >= 20 ? people.weekdayNight : hour >= 9 && hour < 17 ? people.weekdayWork : []).push(n)
        else if (day === 'Sat' && hour >= 9 && hour < 14) people.saturdayMorning.push(n)
        else people.otherWeekend.push(n)
      }
    }

    // Two weeks are 336 hours; every one of them is checked (by local weekday and hour, so across the change).
    expect(hvacHours.size).toBe(336)
    for (const [key, h] of hvacHours) {
      const working = WEEKDAYS.has(h.day) && h.hour >= 6 && h.hour < 19
      expect({key, day: h.day, hour: h.hour, comfort: working ? h.comfort > 0 : h.comfort, eco: working ? h.eco : h.eco > 0}).toEqual({key, day: h.day, hour: h.hour, comfort: working ? true : 0, eco: working ? 0 : true})
      expect([...h.setpoints]).toEqual([working ? 21.5 : 18])
    }

    // 9 sensors, one reading a minute: 10 weekdays × 11 night hours, and the hour the fortnight ends with (00:00 to
    // 01:00 summer time on Monday: 14 × 24 hours from a winter-time midnight), all zero.
    expect(people.weekdayNight).toHaveLength(111 * 60 * 9)
    expect(Math.max(...people.weekdayNight)).toBe(0)
    expect(Math.max(...people.otherWeekend)).toBe(0)
    // Saturday mornings: a few people at most (the weekend profile peaks at 3), some present.
    expect(Math.max(...people.saturdayMorning)).toBeLessThanOrEqual(3)
    expect(people.saturdayMorning.filter((n) => n > 0).length).toBeGreaterThan(people.saturdayMorning.length / 4)
    // Weekday working hours: the building is busy.
    const mean = people.weekdayWork.reduce((a, b) => a + b, 0) / people.weekdayWork.length
    expect(mean).toBeGreaterThan(15)
  }, 120_000)
})
