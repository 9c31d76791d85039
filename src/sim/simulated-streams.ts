import {createDeviceModel, dueOffsetMs, type DeviceModel} from './generators/index.js'
import type {ModelScenario} from './generators/device-model.js'
import {DueQueue} from './fleet/due-queue.js'
import type {DeviceSample, DeviceSpec} from './types.js'

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
  /** Per device, the number of its next message. */
  private readonly next: Int32Array
  private readonly queue: DueQueue

  constructor(
    private readonly scenario: ModelScenario,
    private readonly devices: readonly DeviceSpec[],
    private readonly fromMs: number,
  ) {
    this.models = devices.map((d) => createDeviceModel(scenario, d))
    this.next = new Int32Array(devices.length)
    this.queue = new DueQueue(Math.max(16, devices.length))
    devices.forEach((d, id) => this.queue.push(this.dueAt(d, 0), id))
  }

  /** A device's first message may be jittered before its phase; on a simulated clock nothing comes before `from`. */
  private dueAt(device: DeviceSpec, n: number): number {
    return Math.max(this.fromMs, this.fromMs + dueOffsetMs(device, n, this.scenario.seed))
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
    this.queue.push(this.dueAt(device, this.next[id]), id)
    return {ts, device, sample}
  }
}
