import {encodeException} from '../../modbus/pdu.js'
import {startModbusServer, type ModbusAnswer} from '../../net/modbus-server.js'
import {openPseudoTerminal, openSerialDevice, serveRtuLine, startRtuTcpServer, type RtuLineCounters, type SerialEndpoint} from '../../net/modbus-rtu-server.js'
import type {Scenario} from '../scenario/schema.js'
import type {AnomalyLabel} from '../types.js'
import {SimulatedModbusDevice} from './device.js'
import {expandModbusDevices, listenerPort, type ModbusDeviceSpec} from '../scenario/modbus-expand.js'
import type {ModbusGroupConfig} from '../scenario/modbus-schema.js'

/**
 * Runs the `modbus:` groups of a scenario: one listener per (group, listener) with its unit ids — a Modbus TCP
 * listener, a TCP listener carrying RTU frames (transport: rtu-tcp), or one serial line (transport: rtu, a
 * pseudo-terminal or a device) — every device's values updated on its own schedule (phase + n × every, so nothing
 * drifts), faults applied per request, labels reported, and optionally each update mirrored to MQTT.
 */

export interface ModbusListenerInfo {
  group: string
  transport: 'tcp' | 'rtu-tcp' | 'rtu'
  host: string
  port: number
  /** transport: rtu — the device path clients open (the pseudo-terminal iotd made, or the device given). */
  path?: string
  units: number[]
}

/** What every kind of listener can do for the simulator. */
interface Listener {
  host: string
  port: number
  path?: string
  /** RTU framing counters (bad CRCs, broadcasts); absent on Modbus TCP. */
  rtu?: RtuLineCounters
  dropConnections(): void
  close(): Promise<void>
}

export interface ModbusCounters {
  group: string
  devices: number
  requests: number
  /** RTU: frames with a bad CRC (not answered, as a device on a noisy line does not answer). */
  crcErrors: number
  /** RTU: requests to unit 0, acted on by every unit of the line and answered by none. */
  broadcasts: number
  exceptions: number
  /** Requests left unanswered (unknown unit with unknownUnit: ignore, no-response and flap faults). */
  unanswered: number
  writes: number
  updates: number
  mirrored: number
}

export interface ModbusSimulation {
  readonly listeners: ModbusListenerInfo[]
  readonly devices: SimulatedModbusDevice[]
  device(deviceId: string): SimulatedModbusDevice | undefined
  counters(): ModbusCounters[]
  stop(): Promise<void>
}

export interface ModbusSimulationOptions {
  scenario: Scenario
  /** Injected clock (epoch ms) for tests; default Date.now. */
  now?: () => number
  onLabel?(label: AnomalyLabel): void
  /** Publishes a mirror message; errors are the caller's to count. */
  mirror?(topic: string, payload: string, qos: 0 | 1 | 2, retain: boolean): void
  onLog?(message: string, level: 'info' | 'warn' | 'error'): void
}

export async function startModbusSimulation(options: ModbusSimulationOptions): Promise<ModbusSimulation> {
  const {scenario} = options
  const now = options.now ?? Date.now
  const specs = expandModbusDevices(scenario)
  const groups = new Map(scenario.modbus.map((g) => [g.name, g]))
  const devices = specs.map((s) => new SimulatedModbusDevice(groups.get(s.group) as ModbusGroupConfig, s, scenario.seed))
  const counters = new Map(scenario.modbus.map((g) => [g.name, {group: g.name, devices: 0, requests: 0, crcErrors: 0, broadcasts: 0, exceptions: 0, unanswered: 0, writes: 0, updates: 0, mirrored: 0}]))
  for (const d of devices) (counters.get(d.spec.group) as ModbusCounters).devices++

  const servers: Listener[] = []
  const listeners: ModbusListenerInfo[] = []
  const serverOf = new Map<SimulatedModbusDevice, Listener>()
  const unitsOf = new Map<Listener, number>()
  const groupOf = new Map<Listener, string>()
  const timers = new Set<NodeJS.Timeout>()
  let stopped = false

  const stop = async () => {
    stopped = true
    for (const t of timers) clearTimeout(t)
    timers.clear()
    await Promise.all(servers.map((s) => s.close()))
  }

  try {
    for (const group of scenario.modbus) {
      for (let listener = 0; listener < group.listeners; listener++) {
        const own = devices.filter((d) => d.spec.group === group.name && d.spec.listener === listener)
        const byUnit = new Map(own.map((d) => [d.spec.unitId, d]))
        const count = counters.get(group.name) as ModbusCounters
        const onRequest = (unitId: number, pdu: Buffer): ModbusAnswer | Promise<ModbusAnswer> => {
          count.requests++
          const device = byUnit.get(unitId)
          if (!device) {
            if (group.unknownUnit === 'ignore') {
              count.unanswered++
              return null
            }
            count.exceptions++
            return encodeException(pdu[0] ?? 0, 0x0b)
          }
          if (pdu[0] === 5 || pdu[0] === 6 || pdu[0] === 15 || pdu[0] === 16) count.writes++
          const answer = device.answer(pdu, now())
          if (answer === null) count.unanswered++
          else if (answer instanceof Buffer && answer[0] & 0x80) count.exceptions++
          return answer
        }
        // Broadcast (unit 0, RTU only): every unit of the line takes the write; none answers.
        const onBroadcast = (pdu: Buffer) => {
          count.broadcasts++
          if (pdu[0] === 5 || pdu[0] === 6 || pdu[0] === 15 || pdu[0] === 16) for (const d of own) void d.answer(pdu, now())
        }
        const server = await startListener(group, listener, onRequest, onBroadcast).catch((error: NodeJS.ErrnoException) => {
          const where = group.transport === 'rtu' ? group.serial.device : `${group.host}:${listenerPort(group, listener)}`
          throw Object.assign(new Error(`modbus group ${group.name}: cannot listen on ${where} (${error.code ?? error.message})`), {code: error.code})
        })
        servers.push(server)
        groupOf.set(server, group.name)
        unitsOf.set(server, own.length)
        listeners.push({group: group.name, transport: group.transport, host: server.host, port: server.port, ...(server.path ? {path: server.path} : {}), units: own.map((d) => d.spec.unitId)})
        for (const d of own) {
          serverOf.set(d, server)
          // The OS-assigned port, so templates and the summary show where the device really is.
          if (d.spec.port === 0) d.spec.port = server.port
        }
      }
    }
  } catch (error) {
    await stop()
    throw error
  }

  const start = now()
  const update = (device: SimulatedModbusDevice, n: number) => {
    if (stopped) return
    const due = device.updateDueMs(n, start)
    const labels = device.step(Math.round(due))
    const count = counters.get(device.spec.group) as ModbusCounters
    count.updates++
    for (const l of labels) options.onLabel?.(l)
    const server = serverOf.get(device)
    const fault = device.activeFault(now())
    // A dropped connection takes every unit of the listener with it, as a gateway's does; a flapping device drops
    // its connections only when it has the listener to itself.
    if (server && fault) {
      if (fault.kind === 'disconnect' && labels.some((l) => l.kind === 'modbus-disconnect')) server.dropConnections()
      if (fault.kind === 'flap' && unitsOf.get(server) === 1 && SimulatedModbusDevice.flapDown(fault.startedAt, fault.spec.period, now())) server.dropConnections()
    }
    const group = groups.get(device.spec.group) as ModbusGroupConfig
    if (group.mirror && device.spec.mirrorTopic && options.mirror) {
      options.mirror(device.spec.mirrorTopic, device.valuesJson(Math.round(due)), group.mirror.qos, group.mirror.retain)
      count.mirrored++
    }
    schedule(device, n + 1)
  }
  const schedule = (device: SimulatedModbusDevice, n: number) => {
    if (stopped) return
    const due = device.updateDueMs(n, start)
    const timer = setTimeout(() => {
      timers.delete(timer)
      update(device, n)
    }, Math.max(0, due - now()))
    timers.add(timer)
  }
  // Update 0 happens at once, so the registers hold values before the first request arrives.
  for (const d of devices) update(d, 0)

  const byId = new Map(devices.map((d) => [d.spec.deviceId, d]))
  return {
    listeners,
    devices,
    device: (id) => byId.get(id),
    counters: () =>
      [...counters.values()].map((c) => {
        const rtu = servers.filter((l) => l.rtu && groupOf.get(l) === c.group).map((l) => l.rtu as RtuLineCounters)
        return {...c, crcErrors: rtu.reduce((a, r) => a + r.crcErrors, 0)}
      }),
    stop,
  }
}

export type {ModbusDeviceSpec}

/** A Modbus TCP listener, an RTU-over-TCP listener, or a serial line, by the group's transport. */
async function startListener(group: ModbusGroupConfig, listener: number, onRequest: (unitId: number, pdu: Buffer) => ModbusAnswer | Promise<ModbusAnswer>, onBroadcast: (pdu: Buffer) => void): Promise<Listener> {
  const line = {baud: group.serial.baud, lineTiming: group.lineTiming, onRequest, onBroadcast}
  if (group.transport === 'tcp') {
    const s = await startModbusServer({host: group.host, port: listenerPort(group, listener), onRequest: ({unitId, pdu}) => onRequest(unitId, pdu)})
    return {host: s.host, port: s.port, dropConnections: () => void s.dropConnections(), close: () => s.close()}
  }
  if (group.transport === 'rtu-tcp') {
    const s = await startRtuTcpServer({...line, host: group.host, port: listenerPort(group, listener)})
    return {host: s.host, port: s.port, rtu: s.counters, dropConnections: () => void s.dropConnections(), close: () => s.close()}
  }
  const device = group.serial.device
  const endpoint: SerialEndpoint =
    device === 'pty' || device.startsWith('pty:') ? await openPseudoTerminal(device === 'pty' ? undefined : device.slice(4)) : await openSerialDevice({...group.serial, path: device})
  const served = serveRtuLine(endpoint.stream, line)
  return {
    host: endpoint.path,
    port: 0,
    path: endpoint.path,
    rtu: served.counters,
    // A serial line has no connection to drop: the disconnect and flap faults leave it silent instead.
    dropConnections: () => {},
    close: async () => {
      await served.close()
      await endpoint.close()
    },
  }
}
