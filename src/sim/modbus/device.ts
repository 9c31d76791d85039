import {encodeTag, decodeTag} from '../../modbus/codec.js'
import {encodeException, handleRequest, ModbusException, type RegisterBank} from '../../modbus/pdu.js'
import type {TagValue} from '../../modbus/types.js'
import {createAnomaly, selectsDevice, type AnomalyRuntime} from '../generators/anomalies.js'
import type {FieldValue} from '../generators/field-generators.js'
import {FieldStepper} from '../generators/field-stepper.js'
import {createRng} from '../generators/prng.js'
import type {AnomalySpec} from '../generators/generator-schema.js'
import {parseTemplate, renderTemplate} from '../../config/template.js'
import type {AnomalyLabel} from '../types.js'
import {groupSize, type ModbusDeviceSpec} from '../scenario/modbus-expand.js'
import type {FaultKind, FaultSpec, ModbusGroupConfig, SimTag} from '../scenario/modbus-schema.js'

/**
 * One simulated Modbus device: its tags' generators (stepped every `every`, in dependency order, with anomalies),
 * the register image they are encoded into, setpoints that clients write, and the faults it is scheduled to show.
 * As a RegisterBank it answers reads and writes; `answer` adds the faults on top.
 *
 * Random streams are keyed (seed, group, index, tag), as MQTT fields are keyed (seed, fleet, index, field), so a
 * device's values do not depend on the other devices.
 */

interface FaultRuntime {
  spec: FaultSpec
  timing: AnomalyRuntime
  startedAt: number
}

export interface DeviceAnswerHooks {
  /** Drops the connections of the device's listener (disconnect and flap faults). */
  dropConnections(): void
}

export type DeviceAnswer = Buffer | null | Promise<Buffer | null>

export class SimulatedModbusDevice implements RegisterBank {
  readonly spec: ModbusDeviceSpec
  /** Current engineering values by tag name (what the registers hold, decoded). */
  readonly values: Record<string, TagValue> = {}
  /** Values as generated, before the register's type and scale rounded them (the generator's ground truth). */
  readonly generated: Record<string, FieldValue> = {}
  private readonly fields: FieldStepper
  private readonly tags: Map<string, SimTag>
  private readonly setpoints = new Map<string, TagValue>()
  private readonly registers = {holding: new Map<number, number>(), input: new Map<number, number>()}
  private readonly bits = {coil: new Map<number, boolean>(), discrete: new Map<number, boolean>()}
  private readonly owners = {holding: new Map<number, SimTag[]>(), coil: new Map<number, SimTag>()}
  private readonly faults: FaultRuntime[]
  private n = 0

  constructor(group: ModbusGroupConfig, spec: ModbusDeviceSpec, seed: number) {
    this.spec = spec
    const key = (...rest: Array<string | number>) => createRng([seed, group.name, spec.index, ...rest])
    const renderConstant = (text: string) => renderTemplate(parseTemplate(text, 'lenient'), (name) => spec.vars[name])
    this.tags = new Map(group.tags.map((t) => [t.name, t]))
    // A register has no message to suppress: dropouts do not apply to Modbus tags.
    const anomalies = group.anomalies
      .map((a, k) => ({a, k}))
      .filter(({a, k}) => selectsDevice(seed, group.name, groupSize(group), spec.index, k, a))
      .map(({a, k}) => createAnomaly(a, key('anomaly', k)))
      .filter((a) => a.spec.kind !== 'dropout')
    this.fields = new FieldStepper({fields: group.tags.map((t) => [t.name, t.value] as const), anomalies, key, renderConstant})
    this.faults = group.faults
      .map((f, k) => ({f, k}))
      .filter(({f, k}) => selectsDevice(seed, group.name, groupSize(group), spec.index, 1000 + k, f))
      .map(({f, k}) => {
        // Faults start and end exactly as anomalies do (probability per update or a schedule, a duration): the
        // anomaly runtime times them, with no field to change.
        const timing: AnomalySpec = {kind: 'dropout', share: f.share, devices: f.devices, probability: f.probability, schedule: f.schedule, duration: f.duration}
        return {spec: f, timing: createAnomaly(timing, key('fault', k)), startedAt: 0}
      })
    for (const tag of group.tags) {
      if (tag.table === 'holding') {
        for (let k = 0; k < tag.words; k++) this.owners.holding.set(tag.address + k, [...(this.owners.holding.get(tag.address + k) ?? []), tag])
      } else if (tag.table === 'coil') this.owners.coil.set(tag.address, tag)
    }
  }

  /** Generates the next values (update n at tsMs), encodes them into the registers; returns labels that start now. */
  step(tsMs: number): readonly AnomalyLabel[] {
    // The stepper's labels may be its shared empty array: a fault label makes a new one rather than pushing into it.
    let labels = this.fields.step(this.n++, tsMs, 'default', this.spec.deviceId, (name, generated) => {
      const setpoint = this.setpoints.get(name)
      this.generated[name] = generated
      this.store(this.tags.get(name)!, (setpoint ?? generated) as TagValue)
      return setpoint ?? generated
    })
    for (const f of this.faults) {
      const label = f.timing.begin(tsMs, this.fields.startedAtMs, this.spec.deviceId)
      if (label) {
        f.startedAt = tsMs
        labels = [...labels, {...label, field: '*', kind: `modbus-${f.spec.kind}`}]
      }
    }
    return labels
  }

  /**
   * When update n is due for a run that started at startMs: the first at once (a client can read values as soon as
   * the listener is up), then at the device's seeded phase within each period. A live run and a backfill share it.
   */
  updateDueMs(n: number, startMs: number): number {
    return n === 0 ? startMs : startMs + this.spec.phaseMs + n * this.spec.everyMs
  }

  /** The device's current values as one JSON message (what a mirror publishes and a backfill writes as a row). */
  valuesJson(tsMs: number): string {
    return JSON.stringify({ts: tsMs, deviceId: this.spec.deviceId, unit: this.spec.unitId, ...this.values})
  }

  /** Writes a value into the tag's registers or bit and records what a reader will decode. */
  private store(tag: SimTag, value: TagValue): void {
    if (tag.type === 'bool') {
      this.bits[tag.table as 'coil' | 'discrete'].set(tag.address, Boolean(value))
      this.values[tag.name] = Boolean(value)
      return
    }
    const regs = this.registers[tag.table as 'holding' | 'input']
    if (tag.type === 'bit') {
      const word = regs.get(tag.address) ?? 0
      const mask = 1 << (tag.bit ?? 0)
      regs.set(tag.address, value ? word | mask : word & ~mask & 0xffff)
      this.values[tag.name] = Boolean(value)
      return
    }
    const words = encodeTag(tag, typeof value === 'boolean' ? Number(value) : value)
    words.forEach((w, k) => regs.set(tag.address + k, w))
    this.values[tag.name] = decodeTag(tag, words)
  }

  readBits(table: 'coil' | 'discrete', address: number, count: number): boolean[] {
    const map = this.bits[table]
    const out: boolean[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const v = map.get(address + i)
      if (v === undefined) throw new ModbusException(2, `${table} ${address + i} is not mapped`)
      out[i] = v
    }
    return out
  }

  readRegisters(table: 'holding' | 'input', address: number, count: number): number[] {
    const map = this.registers[table]
    const out: number[] = new Array(count)
    for (let i = 0; i < count; i++) {
      const v = map.get(address + i)
      if (v === undefined) throw new ModbusException(2, `${table} ${address + i} is not mapped`)
      out[i] = v
    }
    return out
  }

  writeCoils(address: number, values: boolean[]): void {
    const tags = values.map((_, i) => this.owners.coil.get(address + i))
    // Refuse the whole request before changing anything: a partial write would leave the device inconsistent.
    tags.forEach((t, i) => {
      if (!t || !t.writable) throw new ModbusException(2, `coil ${address + i} is ${t ? 'read-only' : 'not mapped'}`)
    })
    tags.forEach((t, i) => {
      this.bits.coil.set(address + i, values[i])
      this.setpoints.set((t as SimTag).name, values[i])
      this.values[(t as SimTag).name] = values[i]
    })
  }

  writeRegisters(address: number, values: number[]): void {
    const touched = new Set<SimTag>()
    for (let i = 0; i < values.length; i++) {
      const owners = this.owners.holding.get(address + i)
      if (!owners || owners.some((t) => !t.writable)) throw new ModbusException(2, `holding ${address + i} is ${owners ? 'read-only' : 'not mapped'}`)
      for (const t of owners) touched.add(t)
    }
    values.forEach((w, i) => this.registers.holding.set(address + i, w & 0xffff))
    // A setpoint is what its registers now say, even after a partial write of a two-register value.
    for (const t of touched) {
      const words = this.readRegisters('holding', t.address, t.words)
      const value = decodeTag(t, words)
      this.setpoints.set(t.name, value)
      this.values[t.name] = value
    }
  }

  /** The fault active now, if any (the first one scheduled wins). */
  activeFault(now: number): {kind: FaultKind; spec: FaultSpec; startedAt: number} | undefined {
    for (const f of this.faults) {
      if (!f.timing.active) continue
      // A zero-length fault lasts one update period, as a zero-length anomaly lasts one message.
      if (f.spec.duration > 0 && now > f.startedAt + f.spec.duration) continue
      return {kind: f.spec.kind, spec: f.spec, startedAt: f.startedAt}
    }
    return undefined
  }

  /** Whether a flapping device is in a down half-cycle now. */
  static flapDown(startedAt: number, period: number, now: number): boolean {
    return Math.floor((now - startedAt) / period) % 2 === 0
  }

  /** Answers a request PDU with the device's faults applied: a response, null (no answer), or a delayed one. */
  answer(pdu: Buffer, now: number): DeviceAnswer {
    const fault = this.activeFault(now)
    if (fault) {
      switch (fault.kind) {
        case 'no-response':
          return null
        case 'flap':
          if (SimulatedModbusDevice.flapDown(fault.startedAt, fault.spec.period, now)) return null
          break
        case 'exception':
          return encodeException(pdu[0] ?? 0, fault.spec.code)
        case 'latency': {
          const response = handleRequest(pdu, this)
          return new Promise((resolve) => setTimeout(() => resolve(response), fault.spec.latency).unref())
        }
        case 'disconnect':
          break
      }
    }
    return handleRequest(pdu, this)
  }
}
