/**
 * Acceptance 2: mosquitto (QoS 1) -> rule -> PostgreSQL at 5,000 msg/s, with the database unreachable for 10 s in
 * the middle (a proxy cuts every connection and refuses new ones). After recovery every message is in the table
 * exactly once (upsert key), nothing is lost, and the summary shows the retries.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, expect, it} from 'vitest'
import {loadPipeline, runPipeline} from '../../../src/pipeline/index.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'
import {PG_URL, pgAvailable, pgQuery, startPgProxy, uniqueTable} from './pg-helpers.js'

const available = await pgAvailable()
if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${PG_URL} (required under CI=true)`)
const dir = mkdtempSync(join(tmpdir(), 'iotd-alo-'))
const table = uniqueTable('iotd_alo')

afterAll(async () => {
  if (available) await pgQuery(`DROP TABLE IF EXISTS "${table}"`)
})

describeMosquitto('at-least-once through a 10 s database outage', () => {
  it.skipIf(!available)('5,000 msg/s over QoS 1: every message stored exactly once, retries in the summary', {timeout: 90_000}, async () => {
    // Unlimited queues in the broker: while the pipeline pushes back, mosquitto must hold the QoS 1 backlog.
    const broker = await startMosquitto({extraConfig: ['max_queued_messages 0', 'max_inflight_messages 1000']})
    const proxy = await startPgProxy()
    try {
      const file = join(dir, 'alo.yaml')
      writeFileSync(
        file,
        `version: 1
sources:
  plant: {type: mqtt, url: "${broker.url}", topics: ["alo/#"], qos: 1, clientId: iotd-alo, clean: false, timestamp: ts, queueSize: 2000}
rules:
  - name: store
    sql: SELECT seq, deviceId, ts, v FROM plant
    sinks:
      - type: postgres
        url: ${proxy.url}
        table: ${table}
        key: [seq]
        time: [ts]
        createTable: true
        batch: {count: 500, interval: 200ms}
        retry: {attempts: 100, initial: 100ms, max: 1s}
        queue: 2000
`,
      )
      const abort = new AbortController()
      const run = runPipeline({pipeline: loadPipeline(file), signal: abort.signal, warn: () => {}})
      await new Promise((ok) => setTimeout(ok, 1000))
      const pub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
      const total = 25_000
      const started = Date.now()
      let cut = false
      // 5,000 msg/s in 10 ms slices of 50 messages; PUBACKs are awaited only when 2,000 are outstanding.
      let outstanding: Promise<unknown>[] = []
      for (let i = 0; i < total; i += 50) {
        if (!cut && i >= 5000) {
          proxy.cut(10_000)
          cut = true
        }
        for (let j = i; j < i + 50; j++) outstanding.push(pub.publishAsync(`alo/dev${j % 20}`, JSON.stringify({seq: j, deviceId: `dev${j % 20}`, ts: 1_767_225_600_000 + j, v: j * 0.5}), {qos: 1}))
        if (outstanding.length >= 2000) {
          await Promise.all(outstanding)
          outstanding = []
        }
        const due = started + ((i + 50) / 5000) * 1000
        if (due > Date.now()) await new Promise((ok) => setTimeout(ok, due - Date.now()))
      }
      await Promise.all(outstanding)
      const publishMs = Date.now() - started
      await pub.endAsync()
      // Wait until the outage is over and the table has caught up.
      const deadline = Date.now() + 60_000
      let stored = 0
      while (Date.now() < deadline) {
        await new Promise((ok) => setTimeout(ok, 500))
        stored = Number((await pgQuery<{n: string}>(`SELECT count(*) AS n FROM "${table}"`).catch(() => [{n: '0'}]))[0].n)
        if (stored >= total) break
      }
      abort.abort()
      const summary = await run
      // The offered rate depends on a shared machine; say what it was rather than fail on it.
      console.info(`at-least-once: published ${total} QoS 1 messages in ${publishMs} ms (${Math.round((total * 1000) / publishMs)} msg/s), ${summary.sinks[0].retries} retries`)
      const [{n, distinct, lo, hi}] = await pgQuery<{n: string; distinct: string; lo: number; hi: number}>(
        `SELECT count(*) AS n, count(DISTINCT seq) AS distinct, min(seq) AS lo, max(seq) AS hi FROM "${table}"`,
      )
      expect(Number(n)).toBe(total)
      expect(Number(distinct)).toBe(total)
      expect([Number(lo), Number(hi)]).toEqual([0, total - 1])
      expect(summary.sinks[0].retries).toBeGreaterThan(0)
      expect(summary.sinks[0].deadLettered).toBe(0)
      expect(summary.sources[0].records).toBeGreaterThanOrEqual(total)
    } finally {
      await proxy.close()
      await broker.stop()
    }
  })
})
