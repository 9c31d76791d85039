/**
 * `type: registry`: every row of a table file (the device registry) once, at the start, as an event stamped with
 * the time the run started. Beside a live source, it lets a rule notice devices that never report at all: a
 * session window keyed by device opens for each registered device, and one that no reading ever joins fires as
 * a silence with no readings (scenarios/pipelines/silent-fleet.yaml). The rows carry the topic of `topic`, so a
 * rule reading `FROM "fleet/#"` sees them beside the fleet's messages. Resumable: a restart does not announce the
 * registry again.
 */
import {extname, resolve} from 'node:path'
import {z} from 'zod'
import {loadTable} from '../tables.js'
import {defineSource, NOOP_ACK, type Delivery, type StageContext} from '../types.js'

const options = z.strictObject({
  path: z.string().min(1).meta({description: 'CSV (with a header row) or JSON (an array of objects) file, relative to the pipeline file.'}),
  topic: z.string().min(1).meta({description: 'Topic of each row: a template with {column} parts, e.g. fleet/{deviceId}/registered.'}),
})

export const registrySource = defineSource({
  type: 'registry',
  summary: 'Each row of a table file once, at the start, as an event (devices that never report show up in windows).',
  options,
  finite: true,
  resumable: true,
  example: {type: 'registry', path: 'data/devices.csv', topic: 'fleet/{deviceId}/registered'},
  create(opts, name, env) {
    const path = resolve(env.baseDir, opts.path)
    return {
      name,
      async *readBatches(_ctx: StageContext): AsyncIterable<readonly Delivery[]> {
        const table = loadTable(name, path, extname(path).toLowerCase() === '.json' ? 'json' : 'csv')
        const at = Date.now()
        const batch: Delivery[] = table.rows.map((row, i) => {
          const topic = opts.topic.replace(/\{([^}]+)\}/g, (_, col: string) => String(row[col] ?? ''))
          return {record: {ts: at, topic, fields: {...row}, meta: {source: name, topic, position: `${opts.path} row ${i + 1}`, arrivedAt: at}}, ack: NOOP_ACK}
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
