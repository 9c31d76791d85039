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
    expect(statsOut.text()).toMatch(/20,000 messages on 20 topics/)
  })
})
