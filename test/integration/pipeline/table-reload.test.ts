/**
 * Issue #16, item 6 (tables): a table file rewritten while the pipeline runs is joined from the next event on; a
 * rewrite that cannot be read keeps the previous rows and the run says so. The real runtime and a real file; the
 * events come from an in-memory source the test feeds one at a time, so each is joined after the file changed.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {loadPipeline, runPipeline, NOOP_ACK, type Delivery, type SourceInstance} from '../../../src/pipeline/index.js'
import {createMemorySink} from '../../../src/pipeline/sinks/memory.js'

/** A source the test hands events to, one batch at a time, until it ends. */
function feed() {
  const waiting: ((d: Delivery[] | undefined) => void)[] = []
  const queued: (Delivery[] | undefined)[] = []
  const put = (d: Delivery[] | undefined) => (waiting.length > 0 ? waiting.shift()!(d) : queued.push(d))
  const instance: SourceInstance = {
    name: 's',
    type: 'memory',
    finite: true,
    source: {
      name: 's',
      async *readBatches() {
        for (;;) {
          const next = queued.length > 0 ? queued.shift() : await new Promise<Delivery[] | undefined>((ok) => waiting.push(ok))
          if (next === undefined) return
          yield next
        }
      },
      async *read() {},
      async close() {},
    },
  }
  return {
    instance,
    send: (fields: Record<string, unknown>) => put([{record: {ts: Date.now(), fields, meta: {source: 's'}}, ack: NOOP_ACK}]),
    end: () => put(undefined),
  }
}

it('a rewritten table file changes the join while the pipeline runs; a broken rewrite keeps the previous rows and says so', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-table-reload-'))
  const table = join(dir, 'devices.csv')
  writeFileSync(table, 'deviceId,site\nd1,north\n')
  writeFileSync(
    join(dir, 'p.yaml'),
    `version: 1
sources:
  s: {type: stdin}
tables:
  devices: {file: devices.csv}
rules:
  - name: r
    sql: SELECT s.deviceId, d.site FROM s LEFT JOIN devices AS d ON s.deviceId = d.deviceId
`,
  )
  const pipeline = loadPipeline(join(dir, 'p.yaml'))
  const input = feed()
  const sink = createMemorySink()
  const said: string[] = []
  const run = runPipeline({pipeline, sources: [input.instance], sinksFor: () => [{sink, type: 'memory'}], deadLetterFile: null, warn: (m) => said.push(m)})
  const sites = () => sink.rows.map((r) => (r.fields as {site?: string}).site ?? null)

  input.send({deviceId: 'd1'})
  await expect.poll(sites, {timeout: 10_000}).toEqual(['north'])

  writeFileSync(table, 'deviceId,site\nd1,south\nd2,east\n')
  await expect.poll(() => said.join('\n'), {timeout: 10_000}).toMatch(/table devices: reloaded .*devices\.csv \(2 rows\)/)
  input.send({deviceId: 'd1'})
  await expect.poll(sites, {timeout: 10_000}).toEqual(['north', 'south'])

  writeFileSync(table, 'deviceId,site\n"d1,west\n')
  await expect.poll(() => said.join('\n'), {timeout: 10_000}).toMatch(/table devices: the changed file could not be read \(.*\); keeping the previous 2 rows/)
  input.send({deviceId: 'd2'})
  await expect.poll(sites, {timeout: 10_000}).toEqual(['north', 'south', 'east'])

  input.end()
  const summary = await run
  expect(summary.error).toBeUndefined()
  expect(summary.tables).toEqual([{name: 'devices', rows: 2, reloads: 1, failedReloads: 1}])
})
