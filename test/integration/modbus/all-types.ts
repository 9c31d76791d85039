import {WORD_ORDERS} from '../../../src/modbus/index.js'

/**
 * A scenario text with one group per word order, each holding a tag of every type (values that move), a bit, a
 * coil, a writable setpoint that drives a derived tag, and a read-only input register. Shared by the integration
 * tests (iotd's client, pymodbus, mbpoll) so they all check the same registers.
 */
export const TYPED_TAGS = [
  {name: 'i16', type: 'int16', address: 0, value: '{kind: walk, mean: -120, sigma: 5, theta: 0.1, resolution: 0.1}', scale: 0.1},
  {name: 'u16', type: 'uint16', address: 1, value: '{kind: counter, start: 60000, step: 7, wrap: 65536}'},
  {name: 'i32', type: 'int32', address: 2, value: '{kind: uniform, min: -2000000000, max: 2000000000, resolution: 1}'},
  {name: 'u32', type: 'uint32', address: 4, value: '{kind: uniform, min: 0, max: 4000000000, resolution: 1}'},
  {name: 'f32', type: 'float32', address: 6, value: '{kind: sine, min: -40, max: 85, period: 10s, resolution: 0.01}'},
  {name: 'i64', type: 'int64', address: 8, value: '{kind: counter, start: -5000000000000, step: 123457}'},
  {name: 'u64', type: 'uint64', address: 12, value: '{kind: counter, start: 9000000000000000, step: 1}'},
  {name: 'f64', type: 'float64', address: 16, value: '{kind: gaussian, mean: 1013.25, stddev: 3.3}'},
  {name: 'txt', type: 'string', address: 20, length: 10, value: '{kind: pick, values: [PUMP-A1, VALVE-B22, "MIXER C"]}'},
] as const

export function allTypesScenario(options: {port?: number; every?: string; mirror?: boolean; transport?: 'rtu' | 'rtu-tcp'} = {}): string {
  const groups = WORD_ORDERS.map((order, k) => {
    const tags = TYPED_TAGS.map((t) => `      - {name: ${t.name}, table: holding, address: ${t.address}, type: ${t.type}${'length' in t ? `, length: ${t.length}` : ''}${'scale' in t ? `, scale: ${t.scale}` : ''}, value: ${t.value}}`).join('\n')
    // transport rtu: one pseudo-terminal per group (a serial line is one listener).
    const where = options.transport === 'rtu' ? '    transport: rtu\n    serial: {device: pty, baud: 115200}\n' : `    port: ${options.port === undefined ? 0 : options.port + k * 2}\n    listeners: 2\n${options.transport ? `    transport: ${options.transport}\n` : ''}`
    return `  - name: ${order.toLowerCase()}
${where}    units: [1, 2, 3]
    order: ${order}
    every: ${options.every ?? '200ms'}
    unknownUnit: exception${options.mirror ? '\n    mirror: {topic: "truth/{fleet}/{listener}/{unit}", retain: true}' : ''}
    tags:
${tags}
      - {name: alarm, table: holding, address: 30, type: bit, bit: 4, value: {kind: pick, values: [true, false]}}
      - {name: running, table: coil, address: 0, value: {kind: pick, values: [true, false]}}
      - {name: valve_cmd, table: holding, address: 40, type: float32, writable: true, value: 25}
      - {name: flow, address: 30001, type: float32, value: {kind: derived, expr: "valve_cmd * 2", resolution: 0.01}}
      - {name: pump_on, table: coil, address: 1, writable: true, value: false}`
  })
  return `version: 1\nseed: 11\nmodbus:\n${groups.join('\n')}\n`
}
