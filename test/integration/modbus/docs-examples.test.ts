import {isDeepStrictEqual} from 'node:util'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {decodeRead, planReads, type TagType, type WordOrder} from '../../../src/modbus/index.js'
import {formatRead, readValues} from '../../../src/tools/modbus-inspect.js'
import {createModbusClient, type ModbusTarget} from '../../../src/net/modbus-transport.js'
import {startModbusSimulation} from '../../../src/sim/modbus/simulator.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

/**
 * docs/modbus.md runs: every ```yaml block is a scenario whose devices start and serve every tag as generated, and
 * every ```text block is what the `iotd modbus read` command in the ```sh block before it prints against the
 * scenario before that. Ports are the OS's (the documented ones are mapped onto them).
 */
const doc = readFileSync(join(import.meta.dirname, '../../../docs/modbus.md'), 'utf8')
const blocks = [...doc.matchAll(/^```(yaml|sh|text)\n([\s\S]*?)^```$/gm)].map((m) => ({lang: m[1], body: m[2]}))
const scenarios = blocks.map((b, i) => ({...b, i})).filter((b) => b.lang === 'yaml')

async function start(yaml: string) {
  // Each group's documented first port, to map commands onto the listeners the OS gave us.
  const documented = [...yaml.matchAll(/^ {4}port: (\d+)/gm)].map((m) => Number(m[1]))
  const text = yaml.replace(/^ {4}port: \d+/gm, '    port: 0').replace(/^labels: .*$/m, '')
  const scenario = loadScenario('doc.yaml', {text, env: {}})
  const sim = await startModbusSimulation({scenario})
  const portOf = (docPort: number) => {
    for (const [g, group] of scenario.modbus.entries()) {
      const k = docPort - documented[g]
      if (k >= 0 && k < group.listeners) return sim.listeners.filter((l) => l.group === group.name)[k].port
    }
    throw new Error(`no group listens on documented port ${docPort}`)
  }
  return {scenario, sim, portOf}
}

describe('docs/modbus.md', () => {
  it('has scenarios and checked output', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(5)
    expect(blocks.filter((b) => b.lang === 'text').length).toBeGreaterThanOrEqual(1)
  })

  it('the addressing example puts one tag at one register three ways', () => {
    const block = scenarios.find((s) => s.body.includes('by-notation')) as {body: string}
    const scenario = loadScenario('doc.yaml', {text: block.body, env: {}})
    expect(scenario.modbus.map((g) => [g.tags[0].table, g.tags[0].address])).toEqual([['holding', 9], ['holding', 9], ['holding', 9]])
  })

  it.each(scenarios.map((s) => [s.i, s.body] as const))('block %i: every tag reads back as the device holds it', async (i, yaml) => {
    const {scenario, sim, portOf} = await start(yaml)
    try {
      for (const group of scenario.modbus) {
        const reads = planReads(group.tags)
        for (const device of sim.devices.filter((d) => d.spec.group === group.name)) {
          const path = sim.listeners.find((l) => l.group === group.name)?.path as string
          const target: ModbusTarget =
            group.transport === 'rtu' ? {transport: 'serial', path, ...group.serial} : {transport: group.transport, host: '127.0.0.1', port: device.spec.port}
          const client = createModbusClient(target)
          try {
            // Registers update every `every`; reads that straddle an update mix two generations (32 units on a
            // timed 19200 baud line take about a second), so read again until one generation was seen whole.
            let got = {}
            let held = structuredClone(device.values)
            for (let attempt = 0; attempt < 3; attempt++) {
              held = structuredClone(device.values)
              got = {}
              for (const r of reads) decodeRead(r, await client.read(device.spec.unitId, r.table, r.address, r.count), got)
              if (isDeepStrictEqual(held, device.values)) break
            }
            expect(got, `${group.name} unit ${device.spec.unitId}`).toEqual(held)
          } finally {
            await client.close()
          }
        }
      }
      // The `iotd modbus read` outputs documented after this scenario (before the next one).
      const next = scenarios.find((s) => s.i > i)?.i ?? blocks.length
      for (let k = i + 1; k < next; k++) {
        if (blocks[k].lang !== 'text') continue
        const command = blocks[k - 1].body.split('\n').find((l) => l.startsWith('iotd modbus read')) as string
        const args = command.split(/\s+/)
        const flag = (name: string) => args[args.indexOf(`--${name}`) + 1]
        const [host, docPort] = args[3].split(':')
        const result = await readValues({
          host,
          port: portOf(Number(docPort)),
          unit: Number(flag('unit') ?? 1),
          address: flag('address'),
          count: Number(args.includes('--count') ? flag('count') : 1),
          type: (args.includes('--type') ? flag('type') : undefined) as TagType | undefined,
          order: (args.includes('--order') ? flag('order') : 'ABCD') as WordOrder | 'all',
          timeoutMs: 1000,
        })
        const printed = formatRead(result).replace(`:${result.port} `, `:${docPort} `)
        expect(printed).toBe(blocks[k].body.trimEnd())
      }
    } finally {
      await sim.stop()
    }
  })
})
