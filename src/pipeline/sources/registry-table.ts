/**
 * `type: registry`: every row of a table file (the device registry) once, at the start, as an event stamped with
 * the time the run started. Beside a live source, it lets a rule notice devices that never report at all: a
 * session window keyed by device opens for each registered device, and one that no reading ever joins fires as
 * a silence with no readings (scenarios/pipelines/silent-fleet.yaml). The rows carry the topic of `topic`, so a
 * rule reading `FROM "fleet/#"` sees them beside the fleet's messages. Resumable: a restart does not announce the
 * registry again.
 *
 * The topic is a record template (record-template.ts, `fleet/${deviceId}/registered`), read as sinks read theirs;
 * a row without a value for one of its columns goes to the dead letter with the reason, never to a topic with an
 * empty level.
 */
import {extname, resolve} from 'node:path'
import {z} from 'zod'
import {loadTable} from '../tables.js'
import {compileRecordTemplate, templateFields} from '../record-template.js'
import {arrivalNow, defineSource, NOOP_ACK, type Delivery, type PipelineRecord, type StageContext} from '../types.js'

const options = z.strictObject({
  path: z.string().min(1).meta({description: 'CSV (with a header row) or JSON (an array of objects) file, relative to the pipeline file.'}),
  topic: z
    .string()
    .min(1)
    // `{column}` was this option's syntax before it shared the sinks' templates: refused, not published literally.
    .refine((t) => !/(^|[^$])\{[^{}]+\}/.test(t), {message: 'a column in the topic is written ${column} (e.g. fleet/${deviceId}/registered), not {column}'})
    .meta({description: 'Topic of each row: a template with ${column} parts, e.g. fleet/${deviceId}/registered.'}),
})

export const registrySource = defineSource({
  type: 'registry',
  summary: 'Each row of a table file once, at the start, as an event (devices that never report show up in windows).',
  options,
  finite: true,
  resumable: true,
  example: {type: 'registry', path: 'data/devices.csv', topic: 'fleet/${deviceId}/registered'},
  create(opts, name, env) {
    const path = resolve(env.baseDir, opts.path)
    return {
      name,
      async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
        const table = loadTable(name, path, extname(path).toLowerCase() === '.json' ? 'json' : 'csv')
        const topicOf = compileRecordTemplate(opts.topic, (t) => t.length > 0 && !t.includes('+') && !t.includes('#'))
        const columns = templateFields(opts.topic)
        const at = Date.now()
        const arrivedAt = arrivalNow()
        const batch: Delivery[] = []
        table.rows.forEach((row, i) => {
          const record: PipelineRecord = {ts: at, fields: {...row}, meta: {source: name, position: `${opts.path} row ${i + 1}`, arrivedAt}}
          // An empty cell counts as missing too: it would make an empty topic level.
          const missing = columns.filter((c) => row[c] === undefined || row[c] === null || row[c] === '')
          const topic = missing.length > 0 ? undefined : topicOf(record)
          if (topic === undefined) {
            const why = missing.length > 0 ? `no value for ${missing.map((c) => `"${c}"`).join(', ')}` : 'not a valid topic (empty, or a wildcard + or #)'
            ctx.deadLetter({stage: `source:${name}`, reason: `registry row ${i + 1}: topic ${opts.topic}: ${why}`, record, at})
            return
          }
          record.topic = topic
          record.meta.topic = topic
          batch.push({record, ack: NOOP_ACK})
        })
        if (batch.length > 0) yield batch
      },
      async *read(ctx: StageContext): AsyncIterable<Delivery> {
        for await (const batch of this.readBatches!(ctx)) yield* batch
      },
      async close() {},
    }
  },
})
