/**
 * `iotd tail` under a flood, against mosquitto: the text view for a person shows at most its budget a second and
 * says how many it skipped; NDJSON and --stats account for every message.
 */
import {Writable} from 'node:stream'
import type {MqttClient} from 'mqtt'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/mqtt-connection.js'
import {runTail} from '../../../src/tools/tail.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

let broker: Mosquitto
let pub: MqttClient

/** A terminal-like sink that keeps what was written. */
function terminal(): Writable & {text: () => string; isTTY: boolean; columns: number; rows: number} {
  const chunks: string[] = []
  const w = new Writable({
    write(chunk: Buffer | string, _enc, cb) {
      chunks.push(chunk.toString())
      cb()
    },
  }) as Writable & {text: () => string; isTTY: boolean; columns: number; rows: number}
  w.text = () => chunks.join('')
  w.isTTY = true
  w.columns = 100
  w.rows = 30
  return w
}

async function flood(topic: string, n: number): Promise<void> {
  const payload = Buffer.from(JSON.stringify({temp: 21.5, hum: 40, ok: true}))
  for (let i = 0; i < n; i += 1000) {
    await new Promise<void>((resolve) => {
      for (let k = 0; k < 1000; k++) pub.publish(`${topic}/${k % 20}`, payload, {qos: 0}, k === 999 ? () => resolve() : undefined)
    })
  }
}

describeMosquitto('tail under a flood', () => {
  beforeAll(async () => {
    broker = await startMosquitto()
    pub = await connectOnce({url: broker.url, clientId: 'flood-pub'})
  })
  afterAll(() => pub?.end(true))

  it('text view on a terminal: at most the budget a second, the rest counted and announced', async () => {
    const out = terminal()
    let ready!: () => void
    const subscribed = new Promise<void>((r) => (ready = r))
    const run = runTail({source: {url: broker.url, topics: ['fl/#']}, format: 'text', out, interactive: true, color: false, maxLinesPerSecond: 200, count: 20_000, onReady: () => ready()})
    await subscribed
    await flood('fl', 20_000)
    const s = await run
    expect(s.matched).toBe(20_000)
    expect(s.shown + s.skipped).toBe(20_000)
    expect(s.skipped).toBeGreaterThan(15_000)
    expect(s.shown).toBeLessThan(4000)
    expect(out.text()).toMatch(/… [\d,]+ messages not shown/)
  })

  it('ndjson and --stats account for every message', async () => {
    const out = terminal()
    let ready!: () => void
    const subscribed = new Promise<void>((r) => (ready = r))
    const run = runTail({source: {url: broker.url, topics: ['nd2/#']}, format: 'ndjson', out, interactive: true, color: false, count: 20_000, onReady: () => ready()})
    await subscribed
    await flood('nd2', 20_000)
    const s = await run
    expect(s.skipped).toBe(0)
    expect(out.text().trim().split('\n')).toHaveLength(20_000)

    const statsOut = terminal()
    const subscribed2 = new Promise<void>((r) => (ready = r))
    const stats = runTail({source: {url: broker.url, topics: ['st/#']}, format: 'text', stats: true, out: statsOut, interactive: false, color: false, count: 20_000, onReady: () => ready()})
    await subscribed2
    await flood('st', 20_000)
    const ss = await stats
    expect(ss.topicStats!.reduce((a, t) => a + t.messages, 0)).toBe(20_000)
    expect(statsOut.text()).toMatch(/^total \(20 topics\)\s+20,000\s/m)
  })

  it('a payload wider than the terminal is one line by default; indented, the budget counts its lines', async () => {
    // Twelve fields: about 300 characters, three times the terminal's width.
    const wide = Buffer.from(JSON.stringify(Object.fromEntries(Array.from({length: 12}, (_, i) => [`field_${i}`, `value number ${i} of twelve`]))))
    const send = async (topic: string, n: number) => {
      for (let i = 0; i < n; i++) pub.publish(topic, wide, {qos: 0})
      await new Promise<void>((resolve) => pub.publish(topic, wide, {qos: 0}, () => resolve()))
    }
    const run = async (json: 'compact' | 'pretty' | undefined, topic: string) => {
      const out = terminal()
      let ready!: () => void
      const subscribed = new Promise<void>((r) => (ready = r))
      const tail = runTail({source: {url: broker.url, topics: [topic]}, format: 'text', json, out, interactive: true, color: false, maxLinesPerSecond: 300, count: 2001, onReady: () => ready()})
      await subscribed
      await send(topic, 2000)
      return {summary: await tail, lines: out.text().split('\n').filter((l) => l && !l.startsWith('…'))}
    }
    const byDefault = await run(undefined, 'wide/a')
    // One line per shown message.
    expect(byDefault.lines).toHaveLength(byDefault.summary.shown)
    const pretty = await run('pretty', 'wide/b')
    expect(pretty.summary.shown + pretty.summary.skipped).toBe(2001)
    // 14 lines a message: the 300-line budget a second shows ~21 of them a second, not 300.
    const seconds = Math.ceil(pretty.summary.durationMs / 1000) + 1
    expect(pretty.lines.length).toBeLessThanOrEqual((300 + 14) * seconds)
    expect(pretty.lines.length).toBeGreaterThan(pretty.summary.shown * 10)
  })
})
