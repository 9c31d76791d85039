import {parseTemplate, renderTemplate} from '../../config/template.js'
import type {AnomalyLabel, DeviceSample, DeviceSpec} from '../types.js'
import {createAnomaly, selectsDevice, type AnomalyRuntime} from './anomalies.js'
import {CommandedAnomalies} from './commanded-anomalies.js'
import {createEncoder, type PayloadSpec} from './encoders.js'
import {FieldStepper} from './field-stepper.js'
import type {FieldValue} from './field-generators.js'
import type {AnomalySpec, GeneratorSpec} from './generator-schema.js'
import {createModeMachine, modeNames, type ModeConfig, type ModeMachine} from './mode-machine.js'
import {createRng} from './prng.js'
import {withDeviceParams, type ParamRef} from './device-params.js'
import {LocalClock} from './calendar.js'

/** Produces one device's messages: mode step → fields (dependency order, anomalies applied) → payload. */
export interface DeviceModel {
  /** n = 0, 1, 2, ... called in order; tsMs = the message's timestamp (epoch ms). */
  sample(n: number, tsMs: number): DeviceSample
  /**
   * Commands: hold a field at a value until released (the generator keeps stepping underneath, so its stream does
   * not depend on commands, as with Modbus setpoints); false when the fleet has no such field.
   */
  hold(field: string, value: FieldValue): boolean
  release(field: string): void
  /**
   * Switches the mode machine; false when the fleet has no mode of that name. With `forMs`, the mode is held that
   * long (from `atMs`, epoch ms) while the machine steps underneath, then the device is in the machine's mode. Without
   * it, a chain goes on from the new mode, and a schedule lets it hold until the schedule's own mode changes.
   */
  setMode(mode: string, at?: {atMs: number; forMs?: number}): boolean
  /** Starts a declared anomaly (by name) at the next message, labelled as started by `command`; false: no such anomaly. */
  startAnomaly(name: string, command: string): boolean
  /** Ends the command-started occurrence of a declared anomaly at epoch ms atMs; false: no such anomaly. */
  stopAnomaly(name: string, atMs: number): boolean
  /** The end of the run: labels of command-started anomalies still running (their end was not known yet). */
  closeAnomalies(): AnomalyLabel[]
  /**
   * A field's value in the last message (a held one included); undefined for a field the fleet does not have. Before
   * the first message, with the epoch ms it is due at, the value it will carry (as current()), not a placeholder.
   */
  value(field: string, firstTsMs?: number): FieldValue | undefined
  /**
   * A field's value as the device holds it now, what a command's reply shows (undefined: no such field). Before the
   * first message: the value the first message (due at `firstTsMs`) will carry, from a copy of the model given the same
   * commands, so this model's streams draw nothing. After it: the last message's value, but a held field shows its
   * held value, a released one the value its generator gave underneath, and once a command changed the mode, a field
   * whose value is the mode's alone (`mode`, `constant`) shows its value in the new mode.
   */
  current(field: string, firstTsMs: number): FieldValue | undefined
}

/** What a device model needs of a scenario (the loaded Scenario has it), so the generators stand below the scenario model. */
export interface ModelScenario {
  seed: number
  fleets: ReadonlyArray<{name: string; count: number; fields: Record<string, GeneratorSpec>; paramRefs?: readonly ParamRef[]; timezone?: string; anomalies: readonly AnomalySpec[]; payload: PayloadSpec; mode?: ModeConfig}>
}

export function createDeviceModel(scenario: ModelScenario, device: DeviceSpec): DeviceModel {
  const fleet = scenario.fleets.find((f) => f.name === device.fleet)
  if (!fleet) throw new Error(`device ${device.deviceId} names fleet "${device.fleet}", which the scenario does not have`)
  const seed = scenario.seed
  const key = (...rest: Array<string | number>) => createRng([seed, fleet.name, device.index, ...rest])
  const renderConstant = (text: string) => renderTemplate(parseTemplate(text, 'lenient'), (name) => device.vars[name])
  // The fleet's generators with this device's params where `{params.x}` stood (the same objects when none do).
  const specs = withDeviceParams(fleet.fields, fleet.paramRefs ?? [], device.params ?? {})
  const declared = Object.keys(specs)
  const anomalies = fleet.anomalies
    .map((spec, k) => ({spec, k}))
    .filter(({spec, k}) => selectsDevice(seed, fleet.name, fleet.count, device.index, k, spec))
    .map(({spec, k}) => createAnomaly(spec, key('anomaly', k)))
  const dropouts = anomalies.filter((a) => a.spec.kind === 'dropout')
  // Schedules and daily profiles read the fleet's local time.
  const clock = new LocalClock(fleet.timezone)
  const fields = new FieldStepper({fields: declared.map((name) => [name, specs[name]] as const), anomalies, key, renderConstant, clock})
  const encode = createEncoder(fleet.payload, declared, (name) => device.vars[name])
  const modes: ModeMachine | undefined = fleet.mode ? createModeMachine(fleet.mode, key('mode')) : undefined
  const knownModes = new Set(fleet.mode ? modeNames(fleet.mode) : [])
  // A commanded mode that the machine underneath does not overwrite: until `until` (epoch ms), or, for a schedule,
  // while the schedule still names the mode it named when the command came (`under`).
  let modeHold: {mode: string; until?: number; under?: string} | undefined
  let lastTsMs = 0
  let sampled = false
  // The mode of the last message, and the mode since (a command may have changed it).
  let sampledMode = ''
  let modeNow = ''
  // Only a device that was told to hold something pays for the lookup per field.
  const held = new Map<string, FieldValue>()
  // What the generators gave for the held fields (a reply after a release shows it).
  const underneath = new Map<string, FieldValue>()
  const keep = (name: string, generated: FieldValue) => {
    const value = held.get(name)
    if (value === undefined) return generated
    underneath.set(name, generated)
    return value
  }
  // Commands before the first message, replayed on a copy of the model to show what the first message will carry.
  const beforeFirst: Array<(copy: DeviceModel) => void> = []
  const logged = <T>(done: T, replay: (copy: DeviceModel) => void): T => {
    if (!sampled) beforeFirst.push(replay)
    return done
  }
  let firstMessage: {tsMs: number; commands: number; values: Map<string, FieldValue | undefined>} | undefined
  const firstMessageValues = (tsMs: number) => {
    if (firstMessage?.tsMs !== tsMs || firstMessage.commands !== beforeFirst.length) {
      // The same seed, params and commands: the copy's first message is this model's, and this model draws nothing.
      const copy = createDeviceModel(scenario, device)
      for (const replay of beforeFirst) replay(copy)
      copy.sample(0, tsMs)
      firstMessage = {tsMs, commands: beforeFirst.length, values: new Map(declared.map((name) => [name, copy.value(name)]))}
    }
    return firstMessage.values
  }
  // Built when a command first starts an anomaly on this device.
  let commanded: CommandedAnomalies | undefined
  const commandedAnomalies = () =>
    (commanded ??= new CommandedAnomalies(fleet.anomalies, key, {
      add: (runtime: AnomalyRuntime) => {
        fields.addAnomaly(runtime)
        if (runtime.spec.kind === 'dropout') dropouts.push(runtime)
      },
    }))

  return {
    sample(n, dueMs) {
      // Payload timestamps and labels are whole milliseconds even when the scheduler works in fractions.
      const tsMs = Math.round(dueMs)
      lastTsMs = tsMs
      let mode = modes ? (n === 0 ? modes.start(clock.local(tsMs)) : modes.step(clock.local(tsMs))) : 'default'
      if (modeHold) {
        if (modeHold.until !== undefined ? tsMs >= modeHold.until : mode !== modeHold.under) modeHold = undefined
        else mode = modeHold.mode
      }
      // Command-started occurrences that end before this message are labelled now that their end is final.
      const ended = commanded?.ended(tsMs)
      if (!sampled) {
        // What a reply before the first message needed is not needed any more.
        sampled = true
        beforeFirst.length = 0
        firstMessage = undefined
      }
      sampledMode = modeNow = mode
      if (underneath.size > 0) underneath.clear()
      let labels = fields.step(n, tsMs, mode, device.deviceId, held.size > 0 ? keep : undefined)
      if (commanded) labels = [...(ended ?? []), ...commanded.started(labels)]
      // Generators step even while a dropout hides the message, so the signal continues where it would be.
      const suppressed = dropouts.some((a) => a.active)
      return {payload: suppressed ? null : encode(fields.values), labels}
    },
    hold(field, value) {
      if (!fields.values.has(field)) return false
      // What the generator gave shows again on release: kept from before the first of holds since the last message.
      if (!held.has(field) && !underneath.has(field)) underneath.set(field, fields.values.get(field)!)
      held.set(field, value)
      logged(true, (copy) => copy.hold(field, value))
      // Shown at once to expressions and to a reply that reads the field, not only from the next message on.
      fields.values.set(field, value)
      return true
    },
    release(field) {
      held.delete(field)
      logged(undefined, (copy) => copy.release(field))
    },
    setMode(mode, at) {
      if (!modes || !knownModes.has(mode)) return false
      modeNow = mode
      logged(true, (copy) => copy.setMode(mode, at))
      const atMs = at?.atMs ?? lastTsMs
      if (at?.forMs !== undefined) {
        modeHold = {mode, until: atMs + at.forMs}
        return true
      }
      const under = modes.scheduled(clock.local(atMs))
      if (under !== undefined) {
        modeHold = {mode, under}
        return true
      }
      modeHold = undefined
      modes.set(mode)
      return true
    },
    startAnomaly(name, command) {
      return logged(commandedAnomalies().start(name, command), (copy) => copy.startAnomaly(name, command))
    },
    stopAnomaly(name, atMs) {
      return logged(commandedAnomalies().stop(name, atMs), (copy) => copy.stopAnomaly(name, atMs))
    },
    closeAnomalies() {
      return commanded ? commanded.close() : []
    },
    value(field, firstTsMs) {
      if (!sampled && firstTsMs !== undefined && fields.values.has(field)) return firstMessageValues(firstTsMs).get(field)
      return fields.values.get(field)
    },
    current(field, firstTsMs) {
      if (!fields.values.has(field)) return undefined
      if (!sampled) return firstMessageValues(firstTsMs).get(field)
      const value = held.get(field)
      if (value !== undefined) return value
      const inMode = modeNow === sampledMode ? undefined : fields.valueInMode(field, modeNow)
      return inMode ?? underneath.get(field) ?? fields.values.get(field)
    },
  }
}
