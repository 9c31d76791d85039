import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SerialPort} from 'serialport'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {WORD_ORDERS} from '../../../src/modbus/index.js'
import {crc16, encodeRtuFrame} from '../../../src/modbus/rtu.js'
import {modbusSource, type ModbusSourceStats} from '../../../src/pipeline/sources/modbus.js'
import type {StageContext} from '../../../src/pipeline/types.js'
import {startModbusSimulation, type ModbusSimulation} from '../../../src/sim/modbus/simulator.js'
import {loadScenario, type Scenario} from '../../../src/sim/scenario/index.js'
import {describeFailure, readValues} from '../../../src/tools/modbus-inspect.js'
import {allTypesScenario} from './all-types.js'

/**
 * Modbus RTU over pseudo-terminals (Debian's socat makes them; a pty ignores baud and refuses parity, so the lines run
 * 8N1): pymodbus's serial client reads iotd's simulated RTU devices in every type and word order, iotd's RTU client
 * (modbus-serial) reads a pymodbus serial server, RTU over TCP, broadcast, and bad CRCs and timeouts as counted
 * faults with clear messages. Without socat/pymodbus the suite skips locally and fails under CI=true.
 */

const here = import.meta.dirname
const PYTHON = '/usr/bin/python3'
const hasSocat = spawnSync('socat', ['-V'], {stdio: 'ignore'}).error === undefined
const hasPymodbus = spawnSync(PYTHON, ['-c', 'import pymodbus'], {stdio: 'ignore'}).status === 0
const ci = process.env.CI === 'true'
const dir = mkdtempSync(join(tmpdir(), 'edge-rtu-'))

if (ci && (!hasSocat || !hasPymodbus)) {
  describe('Modbus RTU', () => {
    it('needs socat and python3-pymodbus (apt-get install socat python3-pymodbus)', () => {
      expect({socat: hasSocat, pymodbus: hasPymodbus}).toEqual({socat: true, pymodbus: true})
    })
  })
}

const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
})

/** Two linked pseudo-terminals: what is written to one is read from the other (a null-modem cable). */
async function ptyPair(name: string): Promise<[string, string]> {
  const a = join(dir, `${name}-a`)
  const b = join(dir, `${name}-b`)
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {stdio: 'ignore'})
  children.push(child)
  await expect.poll(() => existsSync(a) && existsSync(b), {timeout: 5000}).toBe(true)
  return [a, b]
}

function collect(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`))))
  })
}

async function openPort(path: string): Promise<SerialPort> {
  const port = new SerialPort({path, baudRate: 19200, autoOpen: false})
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())))
  return port
}

describe.skipIf(!hasSocat)('Modbus RTU on serial lines', () => {
  let scenario: Scenario
  let sim: ModbusSimulation
  beforeAll(async () => {
    scenario = loadScenario('all-types-rtu.yaml', {text: allTypesScenario({every: '1h', transport: 'rtu'}), env: {}})
    sim = await startModbusSimulation({scenario})
  })
  afterAll(async () => {
    await sim?.stop()
  })
  const lineOf = (group: string) => sim.listeners.find((l) => l.group === group) as {path: string; units: number[]}

  it.skipIf(!hasPymodbus).each(WORD_ORDERS)('pymodbus\'s serial client reads every type in %s from iotd\'s simulated RTU devices', async (order) => {
    const group = scenario.modbus.find((g) => g.name === order.toLowerCase())
    const line = lineOf(order.toLowerCase())
    expect(line.path).toBeTruthy()
    const tags = group?.tags.map(({value: _value, ...t}) => t)
    const child = spawn(PYTHON, [join(here, 'interop/pymodbus_read.py'), `serial:${line.path}`, '115200', order, line.units.join(',')])
    child.stdin?.end(JSON.stringify(tags))
    const read = JSON.parse(await collect(child)) as Record<string, Record<string, unknown>>
    for (const unit of line.units) {
      const device = sim.devices.find((d) => d.spec.group === order.toLowerCase() && d.spec.unitId === unit)
      for (const [name, ours] of Object.entries(device?.values ?? {})) {
        const tag = group?.tags.find((t) => t.name === name)
        if (typeof ours === 'number' && (tag?.type === 'float32' || tag?.scale !== 1)) {
          expect(Math.abs((read[String(unit)][name] as number) - ours), `${order} unit ${unit} ${name}`).toBeLessThanOrEqual(Math.abs(ours) * 1e-6 + 1e-9)
        } else {
          expect(read[String(unit)][name], `${order} unit ${unit} ${name}`).toEqual(ours)
        }
      }
    }
  })

  it('iotd\'s RTU client reads them too, and a broadcast write (unit 0) reaches every unit of the line unanswered', async () => {
    const line = lineOf('cdab')
    const target = {transport: 'serial' as const, path: line.path, baud: 115200, parity: 'none' as const, dataBits: 8 as const, stopBits: 1 as const}
    const device = sim.devices.find((d) => d.spec.group === 'cdab' && d.spec.unitId === 2)
    const r = await readValues({target, unit: 2, table: 'holding', address: '16', count: 1, type: 'float64', order: 'CDAB', timeoutMs: 2000})
    expect(r.values[0].values.CDAB).toBe(device?.values.f64)
    expect(r.target).toBe(`${line.path} (115200 8N1)`)
    const {writeValues} = await import('../../../src/tools/modbus-inspect.js')
    await writeValues({target, unit: 0, table: 'holding', address: '40', type: 'float32', order: 'CDAB', values: ['61.5'], timeoutMs: 500})
    await expect.poll(() => sim.devices.filter((d) => d.spec.group === 'cdab').map((d) => d.values.valve_cmd)).toEqual([61.5, 61.5, 61.5])
    expect(sim.counters().find((c) => c.group === 'cdab')?.broadcasts).toBe(1)
  })

  it('a request with a bad CRC is counted and not answered; the next good one is', async () => {
    const line = lineOf('abcd')
    const port = await openPort(line.path)
    try {
      const answers: Buffer[] = []
      port.on('data', (d: Buffer) => answers.push(d))
      const good = encodeRtuFrame(1, Buffer.from([3, 0, 0, 0, 1]))
      const bad = Buffer.from(good)
      bad[bad.length - 1] ^= 0xff
      const before = sim.counters().find((c) => c.group === 'abcd')?.crcErrors ?? 0
      port.write(bad)
      await expect.poll(() => sim.counters().find((c) => c.group === 'abcd')?.crcErrors).toBe(before + 1)
      // After the line's silence the device listens again: the silence (the line resynchronises after 20 ms of it)
      // is the behaviour under test, so this waits on purpose.
      await new Promise((r) => setTimeout(r, 100))
      port.write(good)
      await expect.poll(() => Buffer.concat(answers).length).toBe(7)
      const answer = Buffer.concat(answers)
      expect([...answer.subarray(0, 3)]).toEqual([1, 3, 2])
      expect(answer.readUInt16LE(5)).toBe(crc16(answer, 5))
    } finally {
      await new Promise<void>((r) => port.close(() => r()))
    }
  })
})

describe.skipIf(!hasSocat || !hasPymodbus)('iotd\'s RTU client against pymodbus\'s serial server', () => {
  it('reads float32, int32, uint64, float64, int16 and a string in every word order', async () => {
    const [serverSide, clientSide] = await ptyPair('pymodbus')
    const server = spawn(PYTHON, [join(here, 'interop/pymodbus_server.py'), `serial:${serverSide}`, '19200'], {stdio: ['ignore', 'pipe', 'pipe']})
    children.push(server)
    let out = ''
    server.stdout?.on('data', (d: Buffer) => (out += d.toString()))
    await expect.poll(() => out.includes('ready'), {timeout: 10_000}).toBe(true)
    const target = {transport: 'serial' as const, path: clientSide, baud: 19200, parity: 'none' as const, dataBits: 8 as const, stopBits: 1 as const}
    try {
      for (const [k, order] of WORD_ORDERS.entries()) {
        const base = k * 20
        const read = (address: number, type: 'float32' | 'int32' | 'uint64' | 'float64' | 'int16' | 'string', extra: {length?: number} = {}) =>
          readValues({target, unit: 7, table: 'holding', address: String(base + address), count: 1, type, order, timeoutMs: 2000, ...extra}).then((r) => r.values[0].values[order])
        expect(await read(0, 'float32')).toBe(21.5)
        expect(await read(2, 'int32')).toBe(-123456)
        expect(await read(4, 'uint64')).toBe(2 ** 53 - 1)
        expect(await read(8, 'float64')).toBe(-0.125)
        expect(await read(12, 'int16')).toBe(-7)
        expect(await read(13, 'string', {length: 8})).toBe('PYMODBUS')
      }
    } finally {
      server.kill('SIGKILL')
    }
  }, 60_000)
})

describe.skipIf(!hasSocat)('RTU faults are counted, with clear messages', () => {
  it('a silent line is a timeout; an answer with a bad CRC is a CRC error; the poll source counts both', async () => {
    const [deviceSide, clientSide] = await ptyPair('faults')
    const device = await openPort(deviceSide)
    // A device that answers every read of unit 5 with a corrupted CRC and ignores unit 6.
    device.on('data', (req: Buffer) => {
      if (req[0] !== 5) return
      const answer = encodeRtuFrame(5, Buffer.from([3, 2, 0, 42]))
      answer[answer.length - 2] ^= 0x55
      device.write(answer)
    })
    const target = {transport: 'serial' as const, path: clientSide, baud: 19200, parity: 'none' as const, dataBits: 8 as const, stopBits: 1 as const}
    try {
      const crc = await readValues({target, unit: 5, table: 'holding', address: '0', count: 1, order: 'ABCD', timeoutMs: 500}).catch((e: unknown) => describeFailure(e, clientSide, 5))
      expect(crc).toBeInstanceOf(Error)
      expect((crc as Error).message).toMatch(/unit 5 on .* answered a frame with a bad CRC \(noise on the line, or wrong baud\/parity\)/)
      const silent = await readValues({target, unit: 6, table: 'holding', address: '0', count: 1, order: 'ABCD', timeoutMs: 300}).catch((e: unknown) => describeFailure(e, clientSide, 6))
      expect((silent as Error).message).toMatch(/unit 6 did not answer within 300ms/)

      const options = modbusSource.options.parse({
        poll: '200ms',
        timeout: '200ms',
        retries: 0,
        tags: [{name: 'level', address: 40001, type: 'uint16'}],
        devices: [{url: `serial://${clientSide}?baud=19200`, units: [5, 6], name: 'dev-{unit}'}],
      })
      const source = modbusSource.create(options, 'line', {baseDir: dir, env: {}}) as ReturnType<typeof modbusSource.create> & {stats(): ModbusSourceStats}
      const abort = new AbortController()
      const ctx: StageContext = {signal: abort.signal, deadLetter: () => {}, warn: () => {}}
      const reading = (async () => {
        for await (const _ of source.readBatches!(ctx)) void _
      })()
      await expect.poll(() => source.stats(), {timeout: 10_000}).toMatchObject({crcErrors: expect.any(Number), timeouts: expect.any(Number)})
      await expect.poll(() => Math.min(source.stats().crcErrors, source.stats().timeouts), {timeout: 10_000}).toBeGreaterThanOrEqual(2)
      abort.abort()
      await reading
      const stats = source.stats()
      expect(stats.failed).toBeGreaterThanOrEqual(stats.crcErrors + stats.timeouts - 2)
    } finally {
      await new Promise<void>((r) => device.close(() => r()))
    }
  }, 30_000)
})

describe('RTU over TCP', () => {
  let sim: ModbusSimulation
  let scenario: Scenario
  beforeAll(async () => {
    scenario = loadScenario('all-types-rtutcp.yaml', {text: allTypesScenario({every: '1h', transport: 'rtu-tcp'}), env: {}})
    sim = await startModbusSimulation({scenario})
  })
  afterAll(async () => {
    await sim?.stop()
  })

  it('iotd reads simulated devices through RTU frames on TCP (rtu+tcp://), in every word order', async () => {
    for (const order of WORD_ORDERS) {
      const listener = sim.listeners.find((l) => l.group === order.toLowerCase()) as {port: number; transport: string}
      expect(listener.transport).toBe('rtu-tcp')
      const device = sim.devices.find((d) => d.spec.group === order.toLowerCase() && d.spec.port === listener.port && d.spec.unitId === 3)
      const target = {transport: 'rtu-tcp' as const, host: '127.0.0.1', port: listener.port}
      const r = await readValues({target, unit: 3, table: 'holding', address: '8', count: 1, type: 'int64', order, timeoutMs: 2000})
      expect(r.values[0].values[order]).toBe(device?.values.i64)
    }
  })
})
