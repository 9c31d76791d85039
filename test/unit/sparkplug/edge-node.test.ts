import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {SparkplugHostSession} from '../../../src/sparkplug/host-session.js'
import {decodePayload} from '../../../src/sparkplug/payload.js'
import {SparkplugEdgeNode} from '../../../src/sim/sparkplug/edge-node.js'
import {expandSparkplugNodes} from '../../../src/sim/sparkplug/simulator.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'

const root = join(import.meta.dirname, '../../..')

function node(metrics: string, extra = '') {
  const s = loadScenario('t.yaml', {
    text: `version: 1\nseed: 3\nsparkplug:\n  - name: g\n    devices: 2\n${extra}    metrics:\n${metrics}`,
    env: {},
  })
  return new SparkplugEdgeNode(s.sparkplug[0], 0, s.seed)
}

describe('SparkplugEdgeNode', () => {
  it('numbers NBIRTH 0, DBIRTHs and data 1, 2, ... and wraps 255 -> 0; a host finds no gap', () => {
    const n = node('      - {name: c, type: UInt32, value: {kind: counter, start: 0, step: 1}}\n')
    n.nextSession()
    n.step(0)
    const host = new SparkplugHostSession()
    const sent = [...n.birth(0)]
    for (let i = 1; i < 200; i++) {
      n.step(i)
      sent.push(...n.data(i))
    }
    for (const m of sent) host.observe(m.topic, m.payload)
    expect(sent.map((m) => m.seq)).toEqual(sent.map((_, i) => i % 256))
    expect(sent.length).toBeGreaterThan(256)
    expect(host.counters).toMatchObject({seqGaps: 0, dataBeforeBirth: 0, unknownAliases: 0})
  })

  it('reports by exception: a metric goes out only past its deadband', () => {
    const n = node('      - {name: v, type: Double, deadband: 1, value: {kind: sequence, values: [10, 10.5, 10.9, 11.2, 11.4, 12.3]}}\n', '    devices: 1\n'.replace('devices: 1', 'every: 1s'))
    n.nextSession()
    n.step(0)
    n.birth(0)
    const reported: unknown[] = []
    for (let i = 1; i < 6; i++) {
      n.step(i)
      for (const m of n.data(i)) if (m.type === 'DDATA' && m.topic.endsWith('dev-000')) reported.push(...decodePayload(m.payload).metrics.map((x) => x.value))
    }
    expect(reported).toEqual([11.2, 12.3])
  })

  it('applies DCMD writes to writable metrics (by name or alias), refuses the rest, and rebirths on NCMD', () => {
    const n = node('      - {name: sp, type: Int16, writable: true, value: 5}\n      - {name: ro, type: Int16, value: 1}\n')
    n.nextSession()
    n.step(0)
    const births = n.birth(0)
    const dbirth = decodePayload(births[1].payload)
    const spAlias = dbirth.metrics.find((m) => m.name === 'sp')?.alias
    const r = n.command('dev-000', [{alias: spAlias, value: 4294967290}, {name: 'ro', value: 3}, {name: 'nope', value: 1}])
    expect(r).toEqual({rebirth: false, writes: 1, refused: ['ro: not writable', 'nope: no such metric']})
    n.step(1)
    const ddata = n.data(1).find((m) => m.topic.endsWith('/DDATA/g-node-000/dev-000'))
    expect(decodePayload(ddata?.payload as Buffer).metrics).toEqual([{alias: spAlias, timestamp: 1, value: 4294967290}])
    expect(n.valueOf('dev-000', 'sp')).toBe(-6)
    expect(n.command(undefined, [{name: 'Node Control/Rebirth', value: true}]).rebirth).toBe(true)
  })

  it('gives each session the next bdSeq (0..255), carried by the death', () => {
    const n = node('      - {name: a, value: 1}\n')
    expect([n.nextSession(), n.nextSession()]).toEqual([0, 1])
    expect(decodePayload(n.death().payload).metrics).toEqual([{name: 'bdSeq', datatype: 'Int64', value: 1}])
  })
})

describe('scenarios/sparkplug-plant.yaml', () => {
  it('expands to its edge nodes and devices, and every node births with typed metrics', () => {
    const s = loadScenario(join(root, 'scenarios/sparkplug-plant.yaml'), {env: {}})
    const nodes = expandSparkplugNodes(s)
    expect(nodes).toHaveLength(5)
    for (const {node} of nodes) {
      node.nextSession()
      node.step(0)
      const births = node.birth(0).map((m) => decodePayload(m.payload))
      expect(births).toHaveLength(5)
      expect(births[1].metrics.find((m) => m.name === 'Temperature')).toMatchObject({datatype: 'Float', properties: {engUnit: '°C'}})
    }
  })
})

describe('docs/sparkplug.md', () => {
  const doc = readFileSync(join(root, 'docs/sparkplug.md'), 'utf8')
  const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1])
  it('has scenario examples', () => expect(blocks.length).toBeGreaterThanOrEqual(2))
  it.each(blocks.map((b, i) => [i, b] as const))('example %i loads and every node births and samples', (_, text) => {
    const s = loadScenario('doc.yaml', {text, env: {}})
    for (const {config, node} of expandSparkplugNodes(s)) {
      node.nextSession()
      node.step(0)
      const births = node.birth(0)
      expect(births).toHaveLength(1 + config.devices)
      for (let i = 1; i < 5; i++) {
        node.step(i * config.every)
        for (const m of node.data(i * config.every)) expect(decodePayload(m.payload).metrics.length).toBeGreaterThan(0)
      }
    }
  })

  it('store and forward: samples taken while not born go out after the next birth as historical data, oldest first, by exception, at their own timestamps; a full store lets the oldest go', () => {
    const n = node('      - {name: c, type: UInt32, value: {kind: counter, start: 0, step: 1}}\n      - {name: k, type: Int16, value: 7}\n', '    devices: 1\n    storeAndForward: {max: 3}\n'.replace('    devices: 1\n', ''))
    n.nextSession()
    n.step(0)
    n.birth(0)
    // The host goes away: a new session, samples 1..5 are held; the store keeps the last 3.
    n.nextSession()
    for (let i = 1; i <= 5; i++) {
      n.step(i * 1000)
      expect(n.hold(i * 1000)).toBe(true)
    }
    expect(n.storedSamples).toBe(3)
    expect(n.storeDropped).toBe(2)
    const births = n.birth(6000)
    const {messages, samples} = n.forward()
    expect(samples).toBe(3)
    expect(n.storedSamples).toBe(0)
    const host = new SparkplugHostSession()
    for (const m of [...births, ...messages]) host.observe(m.topic, m.payload)
    expect(host.counters).toMatchObject({seqGaps: 0, dataBeforeBirth: 0, unknownAliases: 0})
    // Two devices (dev-000, dev-001), three stored samples each; only c changes (k is constant: never resent).
    const ddata = messages.filter((m) => m.type === 'DDATA' && m.topic.endsWith('/dev-000')).map((m) => decodePayload(m.payload))
    expect(ddata.map((p) => p.timestamp)).toEqual([3000, 4000, 5000])
    expect(ddata.map((p) => p.metrics.map((x) => [x.value, x.isHistorical, x.timestamp]))).toEqual([[[3, true, 3000]], [[4, true, 4000]], [[5, true, 5000]]])
    expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => births.length + i))
    // The next outage compares against what was reported live again (the birth at 6000 said 5), not the old store.
    n.nextSession()
    n.step(7000)
    n.hold(7000)
    n.birth(8000)
    const again = n.forward().messages.filter((m) => m.topic.endsWith('/dev-000')).map((m) => decodePayload(m.payload).metrics.map((x) => x.value))
    expect(again).toEqual([[6]])
  })

  it('without storeAndForward nothing is kept while not born', () => {
    const n = node('      - {name: c, type: UInt32, value: {kind: counter, start: 0, step: 1}}\n')
    n.nextSession()
    n.step(0)
    expect(n.hold(0)).toBe(false)
    n.birth(1)
    expect(n.forward()).toEqual({messages: [], samples: 0})
  })
})
