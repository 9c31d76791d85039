import {createDeviceModel, dueOffsetMs} from './generators/index.js'
import {expandDevices, type Scenario} from './scenario/index.js'

/** `iotd sim --dry-run`: what each fleet would publish, without connecting anywhere. */

export interface FleetSample {
  fleet: string
  devices: number
  deviceId: string
  clientId: string
  topic: string
  qos: number
  retain: boolean
  everyMs: number
  birth?: {topic: string; payload: string}
  lwt?: {topic: string; payload: string}
  /** Payloads of the first device's first messages (null = suppressed by a dropout anomaly). */
  payloads: Array<string | null>
}

export function sampleFleets(scenario: Scenario, samples: number, options: {fleets?: string[]; startMs?: number} = {}): FleetSample[] {
  const devices = expandDevices(scenario, {fleets: options.fleets})
  const startMs = options.startMs ?? Date.now()
  const out: FleetSample[] = []
  for (const fleet of scenario.fleets) {
    const members = devices.filter((d) => d.fleet === fleet.name)
    const first = members[0]
    if (!first) continue
    const model = createDeviceModel(scenario, first)
    const payloads: Array<string | null> = []
    for (let n = 0; n < samples; n++) payloads.push(model.sample(n, Math.round(startMs + dueOffsetMs(first, n, scenario.seed))).payload)
    out.push({
      fleet: fleet.name,
      devices: members.length,
      deviceId: first.deviceId,
      clientId: first.clientId,
      topic: first.topic,
      qos: first.qos,
      retain: first.retain,
      everyMs: first.everyMs,
      birth: first.birth && {topic: first.birth.topic, payload: first.birth.payload},
      lwt: first.lwt && {topic: first.lwt.topic, payload: first.lwt.payload},
      payloads,
    })
  }
  return out
}
