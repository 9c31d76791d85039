/**
 * Issue #16, item 10, against the real PostgreSQL: a created table types count(*) as bigint (not double precision)
 * and keeps column names as the rule writes them (camelCase included); the file sink's jsonl holds the rows
 * themselves.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {loadPipeline, runPipeline} from '../../../src/pipeline/index.js'
import {PG_URL, pgAvailable, pgQuery, uniqueTable} from './pg-helpers.js'

const available = await pgAvailable()
if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${PG_URL} (required under CI=true)`)
if (!available) console.warn(`skipping: nothing answers at ${PG_URL}`)

const dir = mkdtempSync(join(tmpdir(), 'sql-rollup-'))
const table = uniqueTable('sql_rollup')
afterAll(async () => {
  if (available) await pgQuery(`DROP TABLE IF EXISTS ${table}`)
})

describe.skipIf(!available)('rollups into PostgreSQL and JSON lines', () => {
  it('count(*) is bigint, deviceId keeps its case, jsonl rows are the rows', async () => {
    writeFileSync(join(dir, 'in.jsonl'), '{"ts":1000,"deviceId":"d1","t":20}\n{"ts":2000,"deviceId":"d1","t":22}\n{"ts":3000,"deviceId":"d2","t":30}\n')
    const file = join(dir, 'p.yaml')
    writeFileSync(
      file,
      `version: 1
sources: {s: {type: file, path: in.jsonl, timestamp: ts}}
rules:
  - sql: SELECT deviceId, count(*) AS n, avg(t) AS avgT, window_start() AS ws FROM s GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)
    sinks:
      - {type: postgres, url: "${PG_URL}", table: ${table}, key: [deviceId, ws], time: [ws], createTable: true}
      - {type: file, path: out.jsonl}
`,
    )
    const summary = await runPipeline({pipeline: loadPipeline(file), warn: () => {}})
    expect(summary.error).toBeUndefined()
    const types = await pgQuery<{column_name: string; data_type: string}>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position',
      [table],
    )
    expect(types).toEqual([
      {column_name: 'deviceId', data_type: 'text'},
      {column_name: 'n', data_type: 'bigint'},
      {column_name: 'avgT', data_type: 'double precision'},
      {column_name: 'ws', data_type: 'timestamp with time zone'},
    ])
    const rows = await pgQuery(`SELECT "deviceId", n, "avgT" FROM ${table} ORDER BY "deviceId"`)
    expect(rows).toEqual([{deviceId: 'd1', n: '2', avgT: 21}, {deviceId: 'd2', n: '1', avgT: 30}])
    const lines = readFileSync(join(dir, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown)
    expect(lines).toEqual([{deviceId: 'd1', n: 2, avgT: 21, ws: 0}, {deviceId: 'd2', n: 1, avgT: 30, ws: 0}])
  })
})
