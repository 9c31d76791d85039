import {spawnSync} from 'node:child_process'
import {describe, expect, it} from 'vitest'
import {frameSilenceMs, lineTimeMs} from '../../../src/modbus/rtu.js'
import {ModbusRtuClient} from '../../../src/net/modbus-rtu-client.js'
import {startModbusSimulation} from '../../../src/sim/modbus/simulator.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

/**
 * Line timing of a simulated RTU line: an exchange never completes sooner than the baud rate allows
 * ((request + response bytes) × 11 bits ÷ baud + 3.5 characters of silence). The upper bound is loose (a shared
 * machine delays timers); perf/modbus-rtu-line.ts measures how close it comes.
 */

const hasSocat = spawnSync('socat', ['-V'], {stdio: 'ignore'}).error === undefined

describe.skipIf(!hasSocat && process.env.CI !== 'true')('Modbus RTU line timing', () => {
  it('a read of two registers at 9600 baud takes at least (8 + 9) bytes × 11 bits ÷ 9600 + 3.5 characters', async () => {
    const scenario = loadScenario('timing.yaml', {
      text: 'version: 1\nseed: 1\nmodbus:\n  - name: line\n    transport: rtu\n    serial: {device: pty, baud: 9600}\n    lineTiming: true\n    units: 4\n    tags:\n      - {name: v, address: 30001, type: float32, value: 1.5}\n',
      env: {},
    })
    const sim = await startModbusSimulation({scenario})
    const path = sim.listeners[0].path as string
    const client = new ModbusRtuClient({kind: 'serial', path, baud: 9600, parity: 'none', dataBits: 8, stopBits: 1}, {timeoutMs: 2000})
    try {
      const expected = lineTimeMs(17, 9600) + frameSilenceMs(9600)
      const times: number[] = []
      for (let i = 0; i < 20; i++) {
        const t = performance.now()
        expect(await client.read((i % 4) + 1, 'input', 0, 2)).toEqual([0x3fc0, 0])
        times.push(performance.now() - t)
      }
      expect(Math.min(...times)).toBeGreaterThanOrEqual(expected - 0.5)
      const median = [...times].sort((a, b) => a - b)[10]
      expect(median).toBeLessThan(expected * 3)
    } finally {
      await client.close()
      await sim.stop()
    }
  })
})
