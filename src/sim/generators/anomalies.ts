import type {AnomalySpec} from './generator-schema.js'
import type {AnomalyLabel} from '../types.js'
import type {FieldValue} from './field-generators.js'
import {quantize} from './numeric.js'
import {createRng, hashUniform, type Rng} from './prng.js'

/**
 * Injected faults with ground truth. A seeded share of a fleet's devices is eligible for each anomaly
 * (decided per device from (seed, fleet, index, anomaly number), so the choice is stable as fleets grow);
 * an eligible device starts it by per-message probability or on a schedule relative to its first message.
 */

export interface AnomalyRuntime {
  readonly spec: AnomalySpec
  /** Called once per message before fields are generated; returns a label when the anomaly starts now. */
  begin(tsMs: number, firstTsMs: number, deviceId: string): AnomalyLabel | undefined
  readonly active: boolean
  /**
   * Transforms the field's value while active. `stuck` freezes any value, objects (gps) included; the other
   * kinds change numbers only (load-time checks keep them off fields of other kinds).
   */
  apply(value: FieldValue, tsMs: number, field: {max?: number; resolution?: number}): FieldValue
}

export function isDeviceAffected(seed: number, fleet: string, index: number, anomalyIndex: number, share: number): boolean {
  return hashUniform([seed, fleet, index, 'anomaly', anomalyIndex]) < share
}

export function createAnomaly(spec: AnomalySpec, rng: Rng): AnomalyRuntime {
  let active = false
  let start = 0
  let end = 0
  let startedThisMessage = false
  let nextScheduled = 0
  let stuckValue: FieldValue | undefined
  const noise = createRng([rng.uint32(), 'noise'])

  return {
    spec,
    get active() {
      return active
    },
    begin(tsMs, firstTsMs, deviceId) {
      startedThisMessage = false
      // A zero-length anomaly lasts exactly the message that started it.
      if (active && (spec.duration === 0 || tsMs >= end)) active = false
      if (active) return undefined
      let starts = false
      if (spec.probability !== undefined) {
        starts = rng.next() < spec.probability
      } else if (spec.schedule) {
        const due = firstTsMs + spec.schedule.at + nextScheduled * (spec.schedule.every ?? 0)
        if (tsMs >= due && (nextScheduled === 0 || spec.schedule.every !== undefined)) {
          starts = true
          // The next occurrence is the first one after this anomaly ends: occurrences that fall inside it (or
          // that were missed while the device was away) are skipped, never started late.
          const every = spec.schedule.every
          const endsAt = tsMs + spec.duration
          nextScheduled = every === undefined ? 1 : Math.floor((endsAt - firstTsMs - spec.schedule.at) / every) + 1
        }
      }
      if (!starts) return undefined
      active = true
      startedThisMessage = true
      start = tsMs
      end = tsMs + spec.duration
      stuckValue = undefined
      return {ts: tsMs, deviceId, field: spec.field ?? '*', kind: spec.kind, start, end}
    },
    apply(value, tsMs, field) {
      if (!active) return value
      if (spec.kind === 'stuck') {
        if (startedThisMessage || stuckValue === undefined) stuckValue = value
        return stuckValue
      }
      if (typeof value !== 'number') return value
      const m = spec.magnitude ?? 0
      let out: number
      switch (spec.kind) {
        case 'spike':
        case 'shift':
          out = value + m
          break
        case 'drift':
          out = value + (spec.duration > 0 ? (m * (tsMs - start)) / spec.duration : m)
          break
        case 'noise':
          out = value + m * noise.gaussian()
          break
        case 'out-of-range':
          out = (field.max ?? value) + Math.abs(m)
          break
        default:
          return value
      }
      return quantize(out, field.resolution)
    },
  }
}
