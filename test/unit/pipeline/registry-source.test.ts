/**
 * The registry source builds each row's topic with the record templates the sinks use (`${column}`): a row without
 * a value for a column of the topic goes to the dead letter with the reason, never to a topic with an empty level.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {loadPipeline, runPipeline, type DeadLetterEntry} from '../../../src/pipeline/index.js'
import {createMemorySink} from '../../../src/pipeline/sinks/memory.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-registry-'))

it('registry rows get ${column} topics; a row missing a topic column is dead-lettered with the column named', async () => {
  writeFileSync(join(dir, 'vans.csv'), 'deviceId,depot\nvan-1,north\n,south\nvan-3,\n')
  const pipeline = loadPipeline(join(dir, 'p.yaml'), {
    text: 'version: 1\nsources:\n  r: {type: registry, path: vans.csv, topic: "fleet/${depot}/${deviceId}/registered"}\nrules: [{sql: "SELECT deviceId, meta(topic) AS t FROM r", sinks: [{type: stdout}]}]\n',
  })
  const sink = createMemorySink()
  const dead: DeadLetterEntry[] = []
  const summary = await runPipeline({pipeline, sinksFor: () => [{sink, type: 'memory'}], deadLetterFile: null, onDeadLetter: (e) => dead.push(e), warn: () => {}})
  expect(sink.rows.map((r) => r.fields)).toEqual([{deviceId: 'van-1', t: 'fleet/north/van-1/registered'}])
  expect(dead.map((e) => e.reason)).toEqual(['registry row 2: topic fleet/${depot}/${deviceId}/registered: no value for "deviceId"', 'registry row 3: topic fleet/${depot}/${deviceId}/registered: no value for "depot"'])
  expect(summary.sources[0]).toMatchObject({records: 1, deadLettered: 2})
  expect(summary.deadLetter.count).toBe(2)
})
