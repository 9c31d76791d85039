/**
 * Issue #12, acceptance 1 and 2, as a user runs it: 100 devices x 10 msg/s for 60 s published at QoS 1 into
 * mosquitto, per-device 10 s tumbling windows, PostgreSQL upserts, `iotd pipeline run` as a separate process.
 *
 * - Acceptance 1: a broker with mosquitto's DEFAULT configuration (max_inflight_messages 20): every event-time
 *   window's count equals what the publisher sent for that device and window; processing-time counts add up.
 * - Acceptance 2: the same stream (published to a second broker at the same time) into a pipeline killed with
 *   SIGKILL twice and restarted: its final table equals the uninterrupted run's row for row. That broker keeps
 *   mosquitto's defaults except max_queued_messages (default 1000): while the pipeline is down, mosquitto itself
 *   drops what it queues beyond that for the offline session, which no subscriber could recover.
 *
 * Event-time windows close when later events arrive; after the fleet's last message the publisher sends one
 * marker event 10 s later that the rule's WHERE removes, which moves the watermark past every window.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, expect, it} from 'vitest'
import {startCli, type StartedCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'
import {PG_URL, pgAvailable, pgQuery, uniqueTable} from './pg-helpers.js'

const available = await pgAvailable()
if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${PG_URL} (required under CI=true)`)
const dir = mkdtempSync(join(tmpdir(), 'iotd-delivery-fleet-'))
const tables = {et: uniqueTable('delivery_et'), pt: uniqueTable('delivery_pt'), killed: uniqueTable('delivery_kill')}

afterAll(async () => {
  if (available) for (const t of Object.values(tables)) await pgQuery(`DROP TABLE IF EXISTS "${t}"`)
})

const DEVICES = 100
const RATE = 10
const SECONDS = 60
const WINDOW = 10_000

function rule(name: string, source: string, table: string): string {
  return `  - name: ${name}
    sql: SELECT dev, count(*) AS n, window_start() AS ws FROM ${source} WHERE v >= 0 GROUP BY dev, TUMBLINGWINDOW(ss, 10)
    sinks:
      - {type: postgres, url: "${PG_URL}", table: ${table}, key: [dev, ws], time: [ws], createTable: true, batch: {count: 500, interval: 200ms}}
`
}

/** Publishes the fleet to every broker, QoS 1, and returns what was sent per `dev|windowStart`. */
async function publishFleet(urls: string[], topicPrefix: string): Promise<{sent: number; counts: Map<string, number>}> {
  const clients = await Promise.all(urls.map((url) => mqtt.connectAsync(url, {clientId: `delivery-pub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`})))
  const counts = new Map<string, number>()
  let sent = 0
  const started = Date.now()
  let lastTs = 0
  for (let tick = 0; tick < SECONDS * RATE; tick++) {
    const due = started + (tick * 1000) / RATE
    if (due > Date.now()) await new Promise((ok) => setTimeout(ok, due - Date.now()))
    const acks: Promise<unknown>[] = []
    for (let d = 0; d < DEVICES; d++) {
      const ts = Date.now()
      lastTs = ts
      const k = `dev${d}|${Math.floor(ts / WINDOW) * WINDOW}`
      counts.set(k, (counts.get(k) ?? 0) + 1)
      const payload = JSON.stringify({dev: `dev${d}`, ts, v: d})
      for (const c of clients) acks.push(c.publishAsync(`${topicPrefix}/dev${d}`, payload, {qos: 1}))
      sent++
    }
    await Promise.all(acks)
  }
  // The marker: filtered out by WHERE, it still moves event time past the last window.
  for (const c of clients) await c.publishAsync(`${topicPrefix}/marker`, JSON.stringify({dev: 'marker', ts: lastTs + 2 * WINDOW, v: -1}), {qos: 1})
  await Promise.all(clients.map((c) => c.endAsync()))
  return {sent, counts}
}

async function tableCounts(table: string): Promise<Map<string, number>> {
  const rows = await pgQuery<{dev: string; ws: string; n: string}>(`SELECT dev, (extract(epoch from ws) * 1000)::bigint::text AS ws, n::text AS n FROM "${table}"`).catch(() => [])
  return new Map(rows.map((r) => [`${r.dev}|${r.ws}`, Number(r.n)]))
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0)

describeMosquitto('delivery: QoS 1 fleet into keyed windows and PostgreSQL (issue #12 acceptance 1 and 2)', () => {
  it.skipIf(!available)('default mosquitto (inflight 20): every window exact; killed twice with SIGKILL: the same table', {timeout: 180_000}, async () => {
    const plain = await startMosquitto({brokerDefaults: true})
    const forKilled = await startMosquitto({brokerDefaults: true, extraConfig: ['max_queued_messages 0']})
    const prefix = `delivery/${process.pid}`
    const steady = join(dir, 'steady.yaml')
    writeFileSync(
      steady,
      `version: 1
name: delivery-steady
sources:
  fleet: {type: mqtt, url: "${plain.url}", topics: ["${prefix}/#"], qos: 1, clientId: delivery-et-${process.pid}, clean: false, timestamp: ts}
  arrivals: {type: mqtt, url: "${plain.url}", topics: ["${prefix}/#"], qos: 1, clientId: delivery-pt-${process.pid}, clean: false}
rules:
${rule('eventtime', 'fleet', tables.et)}${rule('proctime', 'arrivals', tables.pt)}`,
    )
    const killedFile = join(dir, 'killed.yaml')
    writeFileSync(
      killedFile,
      `version: 1
name: delivery-killed
sources:
  fleet: {type: mqtt, url: "${forKilled.url}", topics: ["${prefix}/#"], qos: 1, clientId: delivery-kill-${process.pid}, clean: false, timestamp: ts}
state: {interval: 2s}
rules:
${rule('eventtime', 'fleet', tables.killed)}`,
    )
    const stateDir = (name: string) => ['--state-dir', join(dir, `state-${name}`)]
    const steadyRun = startCli(['pipeline', 'run', steady, '--quiet', ...stateDir('steady')])
    let killedRun: StartedCli = startCli(['pipeline', 'run', killedFile, '--quiet', ...stateDir('killed')])
    const kills: number[] = []
    try {
      // Both subscriptions exist before the first message (persistent sessions queue what follows).
      await expect.poll(async () => Number(await plain.readSys('$SYS/broker/clients/connected')), {timeout: 20_000, interval: 200}).toBeGreaterThanOrEqual(2)
      await expect.poll(async () => Number(await forKilled.readSys('$SYS/broker/clients/connected')), {timeout: 20_000, interval: 200}).toBeGreaterThanOrEqual(1)
      const t0 = Date.now()
      const publishing = publishFleet([plain.url, forKilled.url], prefix)
      for (const at of [15_000, 35_000]) {
        await new Promise((ok) => setTimeout(ok, Math.max(0, t0 + at - Date.now())))
        killedRun.child.kill('SIGKILL')
        await killedRun.exited
        kills.push(Date.now())
        await new Promise((ok) => setTimeout(ok, 1000))
        killedRun = startCli(['pipeline', 'run', killedFile, '--quiet', ...stateDir('killed')])
      }
      const {sent, counts} = await publishing
      expect(sent).toBe(DEVICES * RATE * SECONDS)
      expect(kills).toHaveLength(2)

      // Acceptance 1, event time: every (device, window) count is exactly what was published.
      await expect.poll(async () => sum(await tableCounts(tables.et)), {timeout: 30_000, interval: 500}).toBe(sent)
      expect(await tableCounts(tables.et)).toEqual(counts)
      // Processing time: windows by arrival; they fire by the clock, at most 10 s after the last message.
      await expect.poll(async () => sum(await tableCounts(tables.pt)), {timeout: 30_000, interval: 500}).toBe(sent)
      // Acceptance 2: the killed pipeline's table equals the uninterrupted one's, row for row.
      await expect.poll(async () => sum(await tableCounts(tables.killed)), {timeout: 30_000, interval: 500}).toBe(sent)
      expect(await tableCounts(tables.killed)).toEqual(await tableCounts(tables.et))
    } finally {
      steadyRun.child.kill('SIGINT')
      killedRun.child.kill('SIGINT')
      const [a, b] = await Promise.all([steadyRun.exited, killedRun.exited])
      if (a.code !== 130) process.stderr.write(`steady run: ${a.code} ${a.stderr}\n`)
      if (b.code !== 130) process.stderr.write(`killed run: ${b.code} ${b.stderr}\n`)
      await plain.stop()
      await forKilled.stop()
    }
  })
})
