/**
 * The PostgreSQL sink against the real server: batch inserts, create-table, idempotent upserts on replay, and
 * at-least-once through an outage (a proxy cuts every connection and refuses new ones): every row ends up in the
 * table exactly once, every message is acknowledged, and the summary shows the retries.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadPipeline, runPipeline, type Delivery, type SourceInstance} from '../../../src/pipeline/index.js'
import {PG_URL, pgAvailable, pgQuery, startPgProxy, uniqueTable} from './pg-helpers.js'

const available = await pgAvailable()
if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${PG_URL} (required under CI=true)`)
if (!available) console.warn(`skipping PostgreSQL sink tests: nothing answers at ${PG_URL}`)

const dir = mkdtempSync(join(tmpdir(), 'iotd-pg-'))
const tables: string[] = []

function pipelineText(table: string, url: string, extra = ''): string {
  return `
version: 1
sources:
  readings: {type: file, path: readings.jsonl, timestamp: ts}
rules:
  - name: store
    sql: SELECT deviceId, ts, temp FROM readings WHERE temp IS NOT NULL
    sinks:
      - type: postgres
        url: ${url}
        table: ${table}
        key: [deviceId, ts]
        time: [ts]
        createTable: true
        batch: {count: 50, interval: 100ms}
        retry: {attempts: 50, initial: 50ms, max: 500ms}
${extra}`
}

describe.skipIf(!available)('postgres sink', () => {
  afterAll(async () => {
    for (const t of tables) await pgQuery(`DROP TABLE IF EXISTS "${t}"`)
  })

  it('creates the table, inserts in batches, and a replay of the same file stores every row once', async () => {
    const table = uniqueTable('iotd_pg_replay')
    tables.push(table)
    const lines = []
    for (let i = 0; i < 300; i++) lines.push(JSON.stringify({deviceId: `d${i % 7}`, ts: 1_700_000_000_000 + i * 1000, temp: 20 + (i % 10)}))
    lines.push('{not json')
    writeFileSync(join(dir, 'readings.jsonl'), `${lines.join('\n')}\n`)
    const file = join(dir, 'replay.yaml')
    writeFileSync(file, pipelineText(table, PG_URL))
    const first = await runPipeline({pipeline: loadPipeline(file), warn: () => {}})
    expect(first.error).toBeUndefined()
    expect(first.sinks[0].written).toBe(300)
    expect(first.sinks[0].batches).toBeGreaterThanOrEqual(6)
    expect(first.deadLetter.count).toBe(1)
    const second = await runPipeline({pipeline: loadPipeline(file), warn: () => {}})
    expect(second.sinks[0].written).toBe(300)
    const [{n, devices}] = await pgQuery<{n: string; devices: string}>(`SELECT count(*) AS n, count(DISTINCT "deviceId") AS devices FROM "${table}"`)
    expect(Number(n)).toBe(300)
    expect(Number(devices)).toBe(7)
    const [{t}] = await pgQuery<{t: Date}>(`SELECT min(ts) AS t FROM "${table}"`)
    expect(t.getTime()).toBe(1_700_000_000_000)
  })

  it('keeps every row through an outage: retries with backoff, acks only after the insert, nothing lost or doubled', async () => {
    const table = uniqueTable('iotd_pg_outage')
    tables.push(table)
    const proxy = await startPgProxy()
    try {
      const file = join(dir, 'outage.yaml')
      writeFileSync(file, pipelineText(table, proxy.url))
      const pipeline = loadPipeline(file)
      const total = 3000
      let acked = 0
      const ackedIds = new Set<number>()
      // An acking source at ~5,000 msg/s: 3,000 messages over ~0.6 s, with a 1.5 s outage starting at message 600.
      const source: SourceInstance = {
        name: 'readings',
        type: 'test',
        finite: true,
        timestampField: 'ts',
        source: {
          name: 'readings',
          async *read() {},
          async *readBatches() {
            for (let i = 0; i < total; i += 50) {
              if (i === 600) proxy.cut(1500)
              const batch: Delivery[] = []
              for (let j = i; j < i + 50; j++) {
                batch.push({
                  record: {ts: 0, fields: {deviceId: `d${j % 10}`, ts: 1_700_000_000_000 + j, temp: j}, meta: {source: 'readings'}},
                  ack: () => {
                    acked++
                    ackedIds.add(j)
                  },
                })
              }
              yield batch
              await new Promise((ok) => setTimeout(ok, 10))
            }
          },
          async close() {},
        },
      }
      const summary = await runPipeline({pipeline, sources: [source], warn: () => {}})
      expect(summary.error).toBeUndefined()
      expect(summary.sinks[0].retries).toBeGreaterThan(0)
      expect(summary.sinks[0].deadLettered).toBe(0)
      expect(acked).toBe(total)
      expect(ackedIds.size).toBe(total)
      const [{n, distinct}] = await pgQuery<{n: string; distinct: string}>(`SELECT count(*) AS n, count(DISTINCT temp) AS distinct FROM "${table}"`)
      expect(Number(n)).toBe(total)
      expect(Number(distinct)).toBe(total)
    } finally {
      await proxy.close()
    }
  })

  it('sends rows that fail for good to the dead letter, one by one, and keeps the rest', async () => {
    const table = uniqueTable('iotd_pg_bad')
    tables.push(table)
    await pgQuery(`CREATE TABLE "${table}" ("deviceId" text NOT NULL, ts timestamptz NOT NULL, temp double precision CHECK (temp < 100), PRIMARY KEY ("deviceId", ts))`)
    const lines = [10, 20, 500, 30].map((temp, i) => JSON.stringify({deviceId: 'a', ts: 1_700_000_000_000 + i, temp}))
    writeFileSync(join(dir, 'readings.jsonl'), `${lines.join('\n')}\n`)
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, pipelineText(table, PG_URL).replace('createTable: true', 'createTable: false'))
    const deadLetter = join(dir, 'dead.jsonl')
    const summary = await runPipeline({pipeline: loadPipeline(file), deadLetterFile: deadLetter, warn: () => {}})
    expect(summary.sinks[0].written).toBe(3)
    expect(summary.sinks[0].deadLettered).toBe(1)
    const [{n}] = await pgQuery<{n: string}>(`SELECT count(*) AS n FROM "${table}"`)
    expect(Number(n)).toBe(3)
    const {readFileSync} = await import('node:fs')
    const entry = JSON.parse(readFileSync(deadLetter, 'utf8').trim())
    expect(entry.stage).toBe('sink:store.postgres')
    expect(entry.reason).toMatch(/check constraint/)
    expect(entry.record.fields.temp).toBe(500)
  })
})

beforeAll(() => undefined)
