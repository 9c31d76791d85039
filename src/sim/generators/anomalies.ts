import type {AnomalySpec} from './generator-schema.js'
import type {AnomalyLabel} from '../types.js'
import type {FieldValue} from './field-generators.js'
import {quantize} from './numeric.js'
import {createRng, hashUniform, type Rng} from './prng.js'

/**
 * Injected faults with ground truth. Which devices of a fleet show an anomaly is decided by seed: with `share`, each
 * device by its own draw from (seed, fleet, index, anomaly number), so the choice is stable as fleets grow and the
 * number varies; with `devices`, exactly that many (or that exact share), the devices whose draws are lowest. A chosen
 * device starts the anomaly by per-message probability or on a schedule relative to its first message.
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
  /** Ends it at once: it started where nothing of it would be visible (visibleStarts). */
  cancel(): void
  /** When the current (or last) occurrence ends, epoch ms; a zero-length one ends at its own message. */
  readonly end: number
  /**
   * A command asks for an occurrence: it starts at the next message (begin), labelled as started by `command`
   * under `name`. Only for runtimes that never start on their own (commanded-anomalies.ts).
   */
  trigger(name: string, command: string): void
  /**
   * A command ends it at epoch ms `atMs` (no later than its own end, no earlier than its start); a start still
   * waiting for its message is dropped. Returns whether there was something to end.
   */
  halt(atMs: number): boolean
}

/** An anomaly's name: its `name:`, or `anomaly-N` by its place in the list (as commands are `command-N`). */
export function anomalyName(spec: {name?: string}, index: number): string {
  return spec.name ?? `anomaly-${index + 1}`
}

/** How an anomaly or fault picks its devices: a chance per device (share) or an exact number or share (devices). */
export interface DeviceSelection {
  share?: number
  devices?: number | {share: number}
}

function draw(seed: number, group: string, index: number, anomalyIndex: number): number {
  return hashUniform([seed, group, index, 'anomaly', anomalyIndex])
}

/** How many devices `devices:` asks for in a group of `count`: an exact share rounds to the nearest device. */
export function devicesWanted(devices: number | {share: number}, count: number): number {
  return Math.min(count, typeof devices === 'number' ? devices : Math.round(devices.share * count))
}

/** The chosen devices of exact selections, per (seed, group, size, anomaly, number): each worker computes them once. */
const chosenCache = new Map<string, Uint8Array>()

/** The `n` devices of a group of `count` with the lowest draws (ties by index): exactly n, whatever the seed. */
function chosen(seed: number, group: string, count: number, anomalyIndex: number, n: number): Uint8Array {
  const key = `${seed}\u0000${group}\u0000${count}\u0000${anomalyIndex}\u0000${n}`
  let set = chosenCache.get(key)
  if (!set) {
    const draws = new Float64Array(count)
    for (let i = 0; i < count; i++) draws[i] = draw(seed, group, i, anomalyIndex)
    const order = Array.from({length: count}, (_, i) => i).sort((a, b) => draws[a] - draws[b] || a - b)
    set = new Uint8Array(count)
    for (let k = 0; k < n; k++) set[order[k]] = 1
    chosenCache.set(key, set)
  }
  return set
}

/** Whether device `index` of a group of `count` devices shows anomaly (or fault) number `anomalyIndex`. */
export function selectsDevice(seed: number, group: string, count: number, index: number, anomalyIndex: number, selection: DeviceSelection): boolean {
  if (selection.devices === undefined) return draw(seed, group, index, anomalyIndex) < (selection.share ?? 0)
  return chosen(seed, group, count, anomalyIndex, devicesWanted(selection.devices, count))[index] === 1
}

/** How many devices of the group the selection picks (what lint and dry-run report). */
export function selectedDevices(seed: number, group: string, count: number, anomalyIndex: number, selection: DeviceSelection): number {
  if (selection.devices !== undefined) return devicesWanted(selection.devices, count)
  let n = 0
  for (let i = 0; i < count; i++) if (draw(seed, group, i, anomalyIndex) < (selection.share ?? 0)) n++
  return n
}

/** Kinds that replace the field's value: what other anomalies on the field did is not visible while they hold. */
const OVERRIDING = new Set(['stuck', 'out-of-range'])

/**
 * The precedence that keeps labels to what is visible: after the anomalies due at a message have begun, one that
 * started now is cancelled (no label, no effect) when, for its whole duration, a dropout hides the messages or a
 * stuck or out-of-range anomaly holds its field (for those two: one that held it before this message). One that
 * outlasts what hides it is visible afterwards and stays. Anomalies that add to a value (spike, shift, drift, noise)
 * combine and are all labelled. Returns the labels of the starts that stay.
 */
export function visibleStarts(anomalies: readonly AnomalyRuntime[], started: ReadonlyArray<{anomaly: AnomalyRuntime; label: AnomalyLabel}>): AnomalyLabel[] {
  if (started.length === 0) return []
  const now = new Set(started.map((s) => s.anomaly))
  const holders = anomalies.filter((a) => a.active && !now.has(a))
  const out: AnomalyLabel[] = []
  for (const {anomaly, label} of started) {
    const spec = anomaly.spec
    const masked = holders.some(
      (h) =>
        h.end >= anomaly.end &&
        (h.spec.kind === 'dropout' || (spec.kind !== 'dropout' && h.spec.field === spec.field && OVERRIDING.has(h.spec.kind) && (!OVERRIDING.has(spec.kind) || !now.has(h)))),
    )
    if (masked) {
      anomaly.cancel()
      continue
    }
    holders.push(anomaly)
    out.push(label)
  }
  return out
}

export function createAnomaly(spec: AnomalySpec, rng: Rng): AnomalyRuntime {
  let active = false
  let start = 0
  let end = 0
  let startedThisMessage = false
  let nextScheduled = 0
  let stuckValue: FieldValue | undefined
  const noise = createRng([rng.uint32(), 'noise'])
  // A command's start waiting for the next message, with what its label says.
  let requested: {name: string; command: string} | undefined

  return {
    spec,
    get active() {
      return active
    },
    get end() {
      return end
    },
    begin(tsMs, firstTsMs, deviceId) {
      startedThisMessage = false
      // A zero-length anomaly lasts exactly the message that started it.
      if (active && (spec.duration === 0 || tsMs >= end)) active = false
      if (active) {
        // A command's start while the occurrence still runs changes nothing.
        requested = undefined
        return undefined
      }
      let starts = false
      const by = requested
      if (by) {
        requested = undefined
        starts = true
      } else if (spec.probability !== undefined) {
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
      const label: AnomalyLabel = {ts: tsMs, deviceId, field: spec.field ?? '*', kind: spec.kind, start, end}
      if (by) return {...label, name: by.name, source: 'command', command: by.command}
      return spec.name === undefined ? label : {...label, name: spec.name}
    },
    cancel() {
      active = false
      startedThisMessage = false
    },
    trigger(name, command) {
      requested = {name, command}
    },
    halt(atMs) {
      if (requested) {
        requested = undefined
        return true
      }
      if (!active) return false
      end = Math.max(start, Math.min(end, atMs))
      return true
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
