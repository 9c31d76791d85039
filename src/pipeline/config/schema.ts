/**
 * The pipeline file (version 1), as zod schemas. Source and sink entries are checked in two steps: here only their
 * common keys (type, timestamp, batch, retry, …); the loader then validates the rest against the registered
 * component's own options schema, so adding a sink is adding one file.
 */
import {z} from 'zod'
import {duration} from '../../config/units-schema.js'

const name = z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'a name is letters, digits, _ and - (starting with a letter or _)')

/** Keys every source entry may carry, whatever its type. */
export const sourceCommonShape = {
  type: z.string().meta({description: 'The source kind: see docs/pipeline-reference.md (mqtt, csv, stdin, file, sim, …).'}),
  timestamp: z
    .union([
      z.string().min(1),
      z.strictObject({
        field: z.string().min(1).meta({description: 'Payload field holding the event time.'}),
        format: z
          .string()
          .min(1)
          .optional()
          .meta({description: "epoch-s, epoch-ms, epoch-us, iso, or a pattern of YYYY MM DD HH mm ss SSS such as 'YYYY-MM-DD HH:mm:ss' (UTC). Default: numbers are epoch ms, text ISO-8601."}),
        maxFutureSkew: duration()
          .optional()
          .meta({description: 'Live sources: an event whose time is further ahead of the clock is dead-lettered and counted before any rule sees it.'}),
      }),
    ])
    .transform((v) => (typeof v === 'string' ? {field: v} : v))
    .optional()
    .meta({description: 'Event time: a payload field (`ts`: epoch ms or ISO-8601) or {field, format, maxFutureSkew}. Without it, arrival time is used (processing time).'}),
  key: z.string().min(1).optional().meta({description: 'Payload field used as the record key (device id) for stateful functions without PARTITION BY.'}),
  idleTimeout: duration({positive: true})
    .optional()
    .meta({description: 'Live sources with event time: after this long without a message, event time moves on at the pace of the clock from the last event, so the last windows close and a fleet that went silent is reported (Flink\'s withIdleness).'}),
}

export const sinkCommonShape = {
  type: z.string().meta({description: 'The sink kind: stdout, file, mqtt, http, postgres, …'}),
  name: name.optional().meta({description: 'Name in metrics and dead-letter entries (default: <rule>.<type>[index]).'}),
  batch: z
    .strictObject({
      count: z.number().int().min(1).max(100_000).default(1).meta({description: 'Rows per write (a full batch is written at once).'}),
      interval: duration()
        .default(1000)
        .meta({description: 'A partial batch is written after this long (default 1s); 0 writes it as soon as the rule has taken the current source batch.'}),
    })
    .optional()
    .meta({description: 'Batching: a batch is written when it is full or its oldest row is interval old (default per sink kind).'}),
  retry: z
    .union([
      z.literal('forever'),
      z.strictObject({
        attempts: z
          .union([z.number().int().min(0), z.literal('forever')])
          .default('forever')
          .meta({description: 'Retries of a transient failure (peer unreachable, timeout, 5xx) before the batch is dead-lettered: forever (default: nothing is dead-lettered because a peer was down; the queue fills and pauses the sources) or a number (0 = none).'}),
        initial: duration().default(200).meta({description: 'Delay cap of the first retry (default 200ms); it doubles per retry.'}),
        max: duration().default(10_000).meta({description: 'Upper bound of any retry delay (default 10s).'}),
      }),
    ])
    .optional()
    .meta({description: 'Retries of transient failures with exponential backoff and full jitter; `forever` (the default) or {attempts, initial, max}. Permanent refusals (4xx, constraint violations) go to the dead letter row by row either way.'}),
  queue: z.number().int().min(1).max(1_000_000).default(1024).meta({description: 'Rows waiting for this sink before the sources are paused (backpressure).'}),
  overflow: z
    .enum(['block', 'drop'])
    .default('block')
    .meta({description: 'block (default) pauses the sources while the queue is full; drop discards new rows and counts them.'}),
}

export const sourceEntrySchema = z.looseObject(sourceCommonShape)
export const sinkEntrySchema = z.looseObject(sinkCommonShape)

export const tableSchema = z.strictObject({
  file: z.string().min(1).meta({description: 'CSV (with a header row) or JSON (an array of objects) file, relative to the pipeline file.'}),
  format: z.enum(['csv', 'json']).optional().meta({description: 'Default: from the file extension.'}),
  reload: z
    .union([z.literal(false), duration({positive: true})])
    .optional()
    .meta({description: 'The file is watched and read again when it changes (joins see the new rows from the next event on; a rewrite that cannot be read keeps the previous rows, with a warning). An interval (30s) also checks it on that timer, for filesystems without change events; false reads it once.'}),
})

/** What an empty `sql:` (or `sql: ""`) says; zod's own words were "Too small: expected string to have >=1 characters". */
const EMPTY_SQL = 'sql is empty: write a rule like SELECT * FROM <source>'

export const ruleSchema = z.strictObject({
  name: name.optional().meta({description: 'Default: rule1, rule2, … in file order.'}),
  sql: z.string({error: (issue) => (issue.input === null ? EMPTY_SQL : undefined)}).min(1, EMPTY_SQL).meta({description: 'One SELECT statement in the eKuiper dialect.'}),
  reject: z
    .string()
    .min(1)
    .optional()
    .meta({description: 'An SQL condition: matching events are sent to the dead letter (with this condition as the reason) instead of into the rule, e.g. "temp IS NULL OR temp NOT BETWEEN -40 AND 150".'}),
  map: z
    .string()
    .min(1)
    .optional()
    .meta({description: 'A JSONata expression applied to each output row (escape hatch; slower than SQL). null/undefined results drop the row.'}),
  lateTolerance: duration().default(0).meta({description: 'Watermark = max event time seen - lateTolerance.'}),
  offset: duration().default(0).meta({description: 'Shifts epoch alignment of time windows (e.g. -1h for days starting at 01:00 UTC).'}),
  maxFutureSkew: duration().default(300_000).meta({description: 'Live sources: events further ahead of the wall clock are rejected and counted.'}),
  sendNil: z
    .boolean()
    .default(false)
    .meta({description: 'Keep null columns in rows as "x": null. Default false: a null column is left out and a row with no columns is not sent, as eKuiper does.'}),
  late: z.enum(['drop', 'deadLetter']).default('drop').meta({description: 'What happens to late events: counted and dropped, or also written to the dead letter.'}),
  sinks: z.array(sinkEntrySchema).default([]).meta({description: 'Where the rule\'s rows go; every row goes to every sink.'}),
})

const testEventSchema = z.looseObject({}).meta({description: 'A record: payload fields, plus optional ts, topic, source.'})

const rowsSchema = z.array(z.looseObject({}))

export const pipelineTestSchema = z.strictObject({
  name: z.string().min(1),
  rule: z.string().optional().meta({description: 'Rule whose output is checked (default: the only rule).'}),
  sql: z.string().min(1, EMPTY_SQL).optional().meta({description: 'A rule of the test\'s own, planned against the pipeline\'s sources and tables (instead of rule:).'}),
  source: z.string().optional().meta({description: 'Source the events come from (default: the first source).'}),
  input: z
    .array(testEventSchema)
    .default([])
    .meta({description: 'Events in arrival order: `_ts` (event time, epoch ms or ISO-8601; default: the test time so far), `_topic` and `_source` are record metadata, every other key is payload. An item that is only `advance: 30s` moves time on without an event: windows that end before it fire.'}),
  inputFile: z.string().min(1).optional().meta({description: 'More events, after input:, from a file next to the test file: JSON lines, a JSON array (.json) or CSV with a header (.csv).'}),
  endOfInput: z.boolean().default(true).meta({description: 'Flush windows at the end (a finite source). false: open windows stay open.'}),
  env: z.record(z.string(), z.string()).optional().meta({description: 'Environment for this test: the pipeline file is read again with these values for ${env:NAME}.'}),
  tables: z
    .record(z.string(), z.union([rowsSchema, z.strictObject({file: z.string().min(1)})]))
    .optional()
    .meta({description: 'Replace a table of the pipeline for this test: rows inline, or {file: …} (JSON lines, JSON array or CSV).'}),
  expect: z
    .array(z.looseObject({}))
    .meta({description: 'The rows the rule must emit, in order. A value may be a check: {$near: [v, within]}, {$range: [lo, hi]}, {$contains: x}, {$matches: regex}, {$type: t}, {$any: true}.'}),
  sinks: z
    .record(z.string(), z.array(z.looseObject({})))
    .optional()
    .meta({description: 'Per sink of the rule (by its name, e.g. hot.mqtt), where each row goes, in order: topic (mqtt), subject (nats), table and key (postgres: the upsert key\'s values). A value may be a check, as in expect.'}),
  tolerance: z.number().min(0).optional().meta({description: 'Numbers in rows match within this absolute difference (default: equal to 1e-9 relative).'}),
  metrics: z
    .strictObject({
      lateDropped: z.number().int().min(0).optional(),
      windowsFired: z.number().int().min(0).optional(),
      deadLettered: z.number().int().min(0).optional(),
      filtered: z.number().int().min(0).optional(),
    })
    .optional()
    .meta({description: 'Counters the run must end with.'}),
  deadLetter: z
    .strictObject({
      count: z.number().int().min(0).optional(),
      entries: z
        .array(
          z.strictObject({
            stage: z.string().optional(),
            reason: z.string().optional().meta({description: 'Text the reason contains, or /regex/.'}),
            raw: z.string().optional().meta({description: 'Text the raw input contains, or /regex/.'}),
            fields: z.looseObject({}).optional().meta({description: 'The dead-lettered record\'s payload.'}),
          }),
        )
        .optional(),
    })
    .optional()
    .meta({description: 'Dead-letter entries the run must write, in order (count, and per entry stage, reason, raw, fields).'}),
})

/** zod says "Invalid key in record"; say what a valid name looks like instead. */
function keyError(what: string) {
  return (issue: {code?: string}) => (issue.code === 'invalid_key' ? `${what} name is letters, digits, _ and - (starting with a letter or _)` : undefined)
}

export const pipelineSchema = z.strictObject({
  version: z.literal(1).meta({description: 'Pipeline file format version; always 1.'}),
  name: z.string().optional(),
  description: z.string().optional(),
  sources: z.record(name, sourceEntrySchema, {error: keyError('a source')}).refine((r) => Object.keys(r).length > 0, 'a pipeline needs at least one source'),
  tables: z.record(name, tableSchema, {error: keyError('a table')}).default({}),
  rules: z.array(ruleSchema).min(1, 'a pipeline needs at least one rule'),
  deadLetter: z.string().min(1).optional().meta({description: 'JSON-lines file for undecodable input, rows that fail, late events (late: deadLetter); default: counted only, with a warning.'}),
  shutdown: z
    .strictObject({
      timeout: duration().default(10_000).meta({description: 'How long draining may take after Ctrl-C before the rest is abandoned.'}),
      openWindows: z.enum(['flush', 'drop']).default('flush').meta({description: 'On Ctrl-C/--duration: fire open windows (flush) or discard them (drop). End of input always flushes.'}),
    })
    .default({timeout: 10_000, openWindows: 'flush'}),
  state: z
    .union([
      z.literal(false),
      z.strictObject({
        path: z.string().min(1).optional().meta({description: 'State directory, relative to the pipeline file (default: one per pipeline name under $IOTD_STATE_DIR, $XDG_STATE_HOME/iotd/pipelines or ~/.local/state/iotd/pipelines).'}),
        interval: duration().default(5000).meta({description: 'How often a checkpoint of windows, function state and source positions is taken (default 5s); also at shutdown.'}),
        fsync: z
          .enum(['always', 'everysec', 'never'])
          .default('everysec')
          .meta({description: 'When the input log is flushed to disk: always (before each ack; survives a power cut), everysec (default; a crash of the machine can lose the last second), never (the OS decides). A killed process loses nothing acknowledged with any of them.'}),
      }),
    ])
    .optional()
    .meta({description: 'Checkpointed state and the input log (on by default for `pipeline run`); false turns it off (at-least-once by sink acceptance only, windows start empty after a restart).'}),
  tests: z.array(pipelineTestSchema).default([]),
})

export type PipelineFile = z.output<typeof pipelineSchema>
export type RuleConfig = z.output<typeof ruleSchema>
export type SourceEntry = z.output<typeof sourceEntrySchema>
export type SinkEntry = z.output<typeof sinkEntrySchema>
export type TableConfig = z.output<typeof tableSchema>
export type PipelineTest = z.output<typeof pipelineTestSchema>
