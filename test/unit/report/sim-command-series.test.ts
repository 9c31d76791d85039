/**
 * The command figures a sim serves to Prometheus and writes to InfluxDB are the summary's: received splits into
 * applied, failed, ignored and not taken there too, so a dashboard's figures add up as the summary's do.
 */
import {describe, expect, it} from 'vitest'
import {simPoints} from '../../../src/report/influx-points.js'
import {simFamilies} from '../../../src/report/prometheus-families.js'
import {emptyCounters, type SimSnapshot} from '../../../src/sim/types.js'

const lat = {count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}
const fleet = {...emptyCounters('pumps'), commandsReceived: 9, commandsApplied: 4, commandsFailed: 1, commandsIgnored: 1, commandsNotTaken: 3, msgRate: 0}
const snapshot = {elapsedMs: 1000, broker: 'mqtt://x', fleets: [fleet], totals: fleet, publishLag: lat, ackLatency: lat, stage: 'steady'} as unknown as SimSnapshot

describe('sim command series', () => {
  it('serve the commands not taken beside the others, so received = applied + failed + ignored + not taken', () => {
    const text = simFamilies('plant', snapshot)
    const value = (name: string) => Number(new RegExp(`^${name}\\{[^}]*fleet="pumps"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1])
    expect(value('iotd_sim_commands_not_taken_total')).toBe(3)
    const parts = ['applied', 'failed', 'ignored', 'not_taken'].map((k) => value(`iotd_sim_commands_${k}_total`))
    expect(parts.reduce((a, b) => a + b, 0)).toBe(value('iotd_sim_commands_received_total'))
  })

  it('write them to InfluxDB under the same names', () => {
    const [point] = simPoints('plant', 'r1', snapshot)
    expect(point.fields).toMatchObject({commands_received_total: 9, commands_not_taken_total: 3})
  })
})
