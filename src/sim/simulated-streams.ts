import {createDeviceModel, dueSchedule, type DeviceModel} from './generators/index.js'
import type {ModelScenario} from './generators/device-model.js'
import {DueQueue} from './fleet/due-queue.js'
import type {AnomalyLabel, DeviceSample, DeviceSpec} from './types.js'
import {SimulatedModbusDevice} from './modbus/device.js'
import type {ModbusGroupConfig} from './scenario/modbus-schema.js'
import {expandModbusDevices, modbusRowTopic} from './scenario/modbus-expand.js'
import {shardPart} from './scenario/expand.js'
import type {Scenario} from './scenario/schema.js'

/**
 * A scenario's device streams on a simulated clock: the one loop under `iotd sim --backfill` (sim/backfill.ts) and
 * the pipeline's `sim` source (pipeline/sources/sim.ts). Every device starts at `fromMs`; its n-th message is due at
 * `fromMs + dueOffsetMs(device, n)`, the due times of a live run (sim/generators/schedule.ts), held in the fleet's
 * heap (fleet/due-queue.ts), so messages come out in time order across devices and the same seed gives the same
 * messages. Nothing here waits: the caller runs as fast as it can, or paces the messages to the wall clock (the
 * `sim` source with `clock: real` looks at {@link peekDue} first).
 */

export interface SimulatedMessage {
  /** The message's time in whole epoch ms (due times may carry fractions; payloads and labels do not). */
  ts: number
  device: DeviceSpec
  /** The payload (null when a dropout suppressed it) and the anomaly labels that started with it. */
  sample: DeviceSample
}

export class SimulatedStreams {
  private readonly models: DeviceModel[]
  private readonly dueOffsets: Array<(n: number) => number>
  /** Per device, the number of its next message. */
  private readonly next: Int32Array
  private readonly queue: DueQueue

  constructor(
    private readonly scenario: ModelScenario,
    private readonly devices: readonly DeviceSpec[],
    private readonly fromMs: number,
  ) {
    this.models = devices.map((d) => createDeviceModel(scenario, d))
    this.dueOffsets = devices.map((d) => dueSchedule(d, scenario.seed))
    this.next = new Int32Array(devices.length)
    this.queue = new DueQueue(Math.max(16, devices.length))
    devices.forEach((_, id) => this.queue.push(this.dueAt(id, 0), id))
  }

  /** A device's first message may be jittered before its phase; on a simulated clock nothing comes before `from`. */
  private dueAt(id: number, n: number): number {
    return Math.max(this.fromMs, this.fromMs + this.dueOffsets[id](n))
  }

  /** When the next message is due (epoch ms, unrounded); Infinity when there are no devices. */
  peekDue(): number {
    return this.queue.peekDue()
  }

  /** The message due next, sampled from its device's model; that device's following message is scheduled. */
  take(): SimulatedMessage {
    const ts = Math.round(this.queue.peekDue())
    const id = this.queue.pop()
    const device = this.devices[id]
    const sample = this.models[id].sample(this.next[id], ts)
    this.next[id]++
    this.queue.push(this.dueAt(id, this.next[id]), id)
    return {ts, device, sample}
  }
}

/** One update of a simulated Modbus device as a message: its tag values as the mirror's JSON, and its labels. */
export interface SimulatedModbusMessage {
  ts: number
  deviceId: string
  topic: string
  qos: 0 | 1 | 2
  retain: boolean
  payload: string
  labels: readonly AnomalyLabel[]
}

/**
 * The Modbus groups of a scenario on the same simulated clock: each device steps at the due times of a live run
 * (SimulatedModbusDevice.updateDueMs: the first update at `fromMs`, then every `every` at its seeded phase), and each
 * update is one message on the mirror topic (modbus/<group>/<deviceId> without a mirror) holding the tag values.
 * Kept apart from the MQTT streams, so adding Modbus groups to a backfill leaves the MQTT rows and their order as
 * they were; the caller takes from whichever is due first.
 */
export class SimulatedModbusStreams {
  private readonly devices: SimulatedModbusDevice[]
  private readonly groups: Map<string, ModbusGroupConfig>
  private readonly next: Int32Array
  private readonly queue: DueQueue

  /**
   * `shard`: every count-th device of the groups in order, from the index-th (shardPart, as the fleets are split), so
   * the shards of a backfill hold each Modbus device once, with the stream it has in one run.
   */
  constructor(
    scenario: Pick<Scenario, 'seed' | 'modbus'>,
    private readonly fromMs: number,
    shard?: {index: number; count: number},
  ) {
    this.groups = new Map(scenario.modbus.map((g) => [g.name, g]))
    const specs = shardPart(expandModbusDevices(scenario as Scenario), shard)
    this.devices = specs.map((spec) => new SimulatedModbusDevice(this.groups.get(spec.group)!, spec, scenario.seed))
    this.next = new Int32Array(this.devices.length)
    this.queue = new DueQueue(Math.max(16, this.devices.length))
    this.devices.forEach((d, id) => this.queue.push(d.updateDueMs(0, fromMs), id))
  }

  get size(): number {
    return this.devices.length
  }

  /** The shortest update interval of these devices (Infinity when there are none). */
  get shortestEveryMs(): number {
    return this.devices.reduce((least, d) => Math.min(least, d.spec.everyMs), Infinity)
  }

  peekDue(): number {
    return this.queue.peekDue()
  }

  take(): SimulatedModbusMessage {
    const ts = Math.round(this.queue.peekDue())
    const id = this.queue.pop()
    const device = this.devices[id]
    const labels = device.step(ts)
    this.queue.push(device.updateDueMs(++this.next[id], this.fromMs), id)
    const mirror = this.groups.get(device.spec.group)?.mirror
    return {ts, deviceId: device.spec.deviceId, topic: modbusRowTopic(device.spec), qos: mirror?.qos ?? 0, retain: mirror?.retain ?? false, payload: device.valuesJson(ts), labels}
  }
}
