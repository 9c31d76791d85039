import {closeSync, openSync, readSync, statSync} from 'node:fs'
import {z} from 'zod'
import {LATENCY_DISTRIBUTIONS, type LatencyDistribution} from '../metrics/observation.js'
import type {ThresholdVerdict} from '../metrics/thresholds.js'
import {lineCol, locateJsonPath, locateJsonPaths, locateJsonSyntaxError} from '../config/json-positions.js'
import {formatPath, readConfigText} from '../config/yaml-loader.js'
import {ConfigError, IotdError, MAX_PROBLEMS_SHOWN, type ConfigProblem} from '../errors.js'
import {redactUrl} from '../net/mqtt-endpoint.js'
import {encodeHistogram, mergeEncoded, summarize, type LatencyHistogram} from '../metrics/histogram.js'

/**
 * The versioned, machine-readable result of one `iotd bench` run (or of `iotd report merge` over shards): what
 * `--json` prints and `--out` saves, and what `iotd report show|compare|merge|html` read back.
 *
 * Version 1 grows only by optional fields; readers ignore keys they do not know, so a file from a newer iotd of
 * the same schemaVersion still reads. Anything else is a new schemaVersion.
 *
 * Times are ISO-8601 (UTC) or milliseconds since the Unix epoch; latencies are milliseconds. A count or figure a
 * mode cannot measure is `null` (publish-only has no receiver, so nothing is known about loss), never 0.
 */

export const BENCH_RESULT_SCHEMA_VERSION = 1

export const BENCH_MODES = ['e2e', 'pub', 'sub', 'conn'] as const
export type BenchMode = (typeof BENCH_MODES)[number]

const count = z.number().int().nonnegative()
const ms = z.number().nonnegative()
const perSecond = z.number().nonnegative()
const isoTime = z.iso.datetime({offset: true})
/** HdrHistogram's compressed base64 form (see metrics/histogram.ts). */
const base64 = z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, 'expected a base64-encoded HDR histogram')

export const latencySummarySchema = z
  .object({count, min: ms, mean: ms, p50: ms, p90: ms, p95: ms.optional().describe('Absent in results of iotd before it was recorded.'), p99: ms, p999: ms, p9999: ms, max: ms})
  .describe('Figures of one distribution in milliseconds; all 0 when count is 0.')

export const encodedHistogramSchema = z.object({
  encoded: base64.describe('The full distribution (microseconds, 1 µs – 60 s, 3 significant digits), HdrHistogram compressed base64.'),
  summary: latencySummarySchema,
})

const shardSchema = z
  .object({index: count, count: z.number().int().positive()})
  .refine((s) => s.index < s.count, {message: 'shard index must be below the shard count', path: ['index']})

const stageSchema = z.object({durationMs: ms, ratePerSec: perSecond})

const targetSchema = z
  .discriminatedUnion('model', [
    z.object({
      model: z.literal('open'),
      ratePerSec: perSecond.describe("This process's share of the planned rate (the peak of the stages, if any)."),
      stages: z.array(stageSchema).optional().describe('Rate stages in order; each ramps from the previous rate to its own.'),
      text: z.string().describe('The target as the user wrote it for the whole run, e.g. "50000/s".'),
    }),
    z.object({
      model: z.literal('saturation'),
      inflight: z.number().int().positive().describe('Unacknowledged messages allowed per client.'),
      text: z.string(),
    }),
  ])
  .describe('The load model: an open model at a target rate, or saturation (--rate max).')

export const benchMetaSchema = z.object({
  tool: z.object({name: z.literal('iotd'), version: z.string()}),
  commandLine: z.array(z.string()).describe('argv after the program name, secrets masked (see redactCommandLine).'),
  brokers: z.array(z.string()).min(1).describe('Broker URLs, passwords redacted; several after merging shards that used different brokers.'),
  mode: z.enum(BENCH_MODES).describe('e2e: publishers and subscribers; pub: publish-only; sub: subscribe-only; conn: connections.'),
  mqttVersion: z.enum(['3.1.1', '5']),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  payloadBytes: count,
  clients: z
    .object({publishers: count, subscribers: count, total: count})
    .describe('MQTT clients this run opened (in conn mode, total counts the connections and the others are 0).'),
  target: targetSchema,
  profile: z.string().optional().describe('The bench profile file, if the run came from one.'),
  runId: z
    .string()
    .optional()
    .describe('Names the run (--run-id, or the --start-at instant): the shards of one run share it, and iotd report merge refuses results whose ids differ.'),
  shard: shardSchema.optional().describe('This run as one shard of a larger one; index counts from 0 (--shard 1/3 is index 0, as JOB_COMPLETION_INDEX counts).'),
  merge: z
    .object({
      results: z.number().int().positive(),
      shards: z.array(shardSchema).describe('The shards merged, in shard order (results without shard information are not listed).'),
      commonWindowMs: ms.describe('How long every merged result was measuring at once; much shorter than the whole span means the shards did not run together.'),
      missingShards: z
        .array(shardSchema)
        .optional()
        .describe('Shards of the run that were not merged (iotd report merge --allow-partial): the counts cover only the others.'),
    })
    .optional()
    .describe('Present on a result produced by iotd report merge.'),
  startedAt: isoTime.describe('When the load began (warm-up included).'),
  endedAt: isoTime,
  warmupMs: ms.describe('Excluded from every figure: the measured window is [startedAt + warmupMs, endedAt].'),
})

export const benchCountsSchema = z
  .object({
    planned: count.describe('Sends the schedule called for in the measured window (connections in conn mode).'),
    sent: count,
    acked: count.nullable().describe('PUBACK/PUBCOMP received (QoS 1/2); CONNACKs accepted in conn mode; null at QoS 0.'),
    expected: count.nullable().describe('Deliveries the subscribers should have seen; the denominator of loss. null without a receiver.'),
    received: count.nullable(),
    lost: count.nullable(),
    duplicated: count.nullable(),
    reordered: count.nullable(),
    dropped: count.describe('Sends not sent (open model): those that could not leave on time, and droppedDown.'),
    droppedDown: count
      .optional()
      .describe(
        "Of dropped: sends that fell due while their publisher's broker connection was down (it reconnects with backoff). Absent in results written before it was counted: read as 0.",
      ),
    late: count.describe('Sends that left later than their intended time by more than one interval.'),
    errors: count.describe('Connect, publish and subscribe failures.'),
  })
  .describe('Counts over the measured window; null where the mode cannot know.')

export const benchRateSchema = z.object({
  targetPerSec: perSecond.nullable().describe('null in the saturation model.'),
  achievedPerSec: perSecond.describe('sent / measured window: messages, or connections in conn mode.'),
  receivedPerSec: perSecond.nullable().describe('received / receiving window (receivingMs).'),
  receivingMs: z
    .number()
    .nonnegative()
    .optional()
    .describe(
      "From the start of the measured window to the last measured delivery, at least the measured window: longer when the broker fell behind and delivered after the last send. Subscribe-only: from the first delivery to the last (the other publisher's load, not the whole listen).",
    ),
})

export const brokerCountSchema = z
  .object({
    source: z.string().describe('Where the count came from, e.g. $SYS/broker/publish/messages/received.'),
    received: count.describe("The broker's count over the run (after minus before)."),
    client: count.describe("The client's figure it is compared with (messages sent)."),
    disagreementPct: z
      .number()
      .nullable()
      .describe("(received - client) / client * 100; null when the client sent nothing, in a shard, or when the count before the run was only the broker's retained value (baseline)."),
    baseline: z
      .enum(['live', 'retained'])
      .optional()
      .describe("The count before the run: live (published while iotd listened), or the retained value of unknown age, which may hold other traffic since; then there is no comparison."),
  })
  .describe("The broker's own count, when it publishes one ($SYS).")

export const clientHealthSchema = z.object({
  cpuPercent: z.number().nonnegative().describe('Process CPU over the measured window, percent of one core.'),
  rssBytes: count.describe('Peak resident set size.'),
  eventLoopLagP99Ms: ms,
  cores: z.number().int().positive().describe('Cores the process could use, to judge cpuPercent by.'),
  inflightFullPct: z
    .number()
    .nonnegative()
    .optional()
    .describe('QoS 1/2: share of the publishers\' time their in-flight window was full, percent: the broker holding back acknowledgements (back-pressure), not the client.'),
})

export const thresholdVerdictSchema = z.object({
  threshold: z.string().describe('Normalised threshold text, e.g. p(99)<20ms.'),
  ok: z.boolean(),
  observed: z.number().nullable().describe("In the threshold's unit; null when nothing was measured."),
  observedText: z.string(),
  limitText: z.string(),
})

export const timelinePointSchema = z.object({
  t: z.number().int().nonnegative().describe('Start of the one-second interval, milliseconds since the Unix epoch.'),
  sentPerSec: perSecond,
  receivedPerSec: perSecond.nullable(),
  p50: ms.nullable().describe('Of the headline distribution in this interval (see headlineDistribution); null when unknown.'),
  p99: ms.nullable(),
  histogram: base64.optional().describe("This interval's headline distribution, so merged timelines can recompute percentiles."),
})

export const benchHistogramsSchema = z.object(
  Object.fromEntries(LATENCY_DISTRIBUTIONS.map((d) => [d, encodedHistogramSchema.optional()])) as Record<
    LatencyDistribution,
    z.ZodOptional<typeof encodedHistogramSchema>
  >,
)

export const benchResultSchema = z.object({
  schemaVersion: z.literal(BENCH_RESULT_SCHEMA_VERSION),
  meta: benchMetaSchema,
  counts: benchCountsSchema,
  rate: benchRateSchema,
  brokerCount: brokerCountSchema.nullable(),
  health: clientHealthSchema,
  thresholds: z.array(thresholdVerdictSchema),
  timeline: z.array(timelinePointSchema),
  histograms: benchHistogramsSchema.describe(
    'latency: publish -> deliver from the intended send time (corrected for coordinated omission); uncorrected: from the actual send time; ack: publish -> PUBACK/PUBCOMP; connect: connect (and subscribe) time.',
  ),
})

export type LatencySummaryMs = z.infer<typeof latencySummarySchema>
export type EncodedHistogram = z.infer<typeof encodedHistogramSchema>
export type BenchMeta = z.infer<typeof benchMetaSchema>
export type BenchTarget = BenchMeta['target']
export type BenchShard = NonNullable<BenchMeta['shard']>
export type BenchCounts = z.infer<typeof benchCountsSchema>
export type BenchRate = z.infer<typeof benchRateSchema>
export type BrokerCount = z.infer<typeof brokerCountSchema>
export type BenchClientHealth = z.infer<typeof clientHealthSchema>
export type ThresholdVerdictRecord = z.infer<typeof thresholdVerdictSchema>
export type TimelinePoint = z.infer<typeof timelinePointSchema>
export type BenchHistograms = z.infer<typeof benchHistogramsSchema>
export type BenchResult = z.infer<typeof benchResultSchema>

/** The distribution a mode is judged by: what the timeline's p50/p99 describe and what compare leads with. */
export function headlineDistribution(mode: BenchMode): LatencyDistribution {
  return mode === 'pub' ? 'ack' : mode === 'conn' ? 'connect' : 'latency'
}

/** Length of the measured window (warm-up excluded), in milliseconds. */
export function measuredWindowMs(meta: Pick<BenchMeta, 'startedAt' | 'endedAt' | 'warmupMs'>): number {
  return Math.max(0, Date.parse(meta.endedAt) - Date.parse(meta.startedAt) - meta.warmupMs)
}

/** lost / expected, or null when the run cannot know. */
export function lossFraction(counts: BenchCounts): number | null {
  if (counts.lost === null || counts.expected === null || counts.expected === 0) return null
  return counts.lost / counts.expected
}

// ---- building a result --------------------------------------------------------------------------------------------

/**
 * The summary the result stores, from the live histogram: min and max are the exact values recorded (the encoded
 * form only keeps them to bucket precision, which is why merge takes min/max from the shards' summaries).
 */
export function summarizeMs(h: LatencyHistogram): LatencySummaryMs {
  const s = summarize(h)
  const at = (p: number) => (s.count === 0 ? 0 : h.getValueAtPercentile(p) / 1000)
  return {count: s.count, min: s.min, mean: s.mean, p50: s.p50, p90: s.p90, p95: at(95), p99: s.p99, p999: s.p999, p9999: at(99.99), max: s.max}
}

export function encodedHistogram(h: LatencyHistogram): EncodedHistogram {
  return {encoded: encodeHistogram(h), summary: summarizeMs(h)}
}

/** A threshold verdict as stored: NaN (nothing measured) becomes null, which JSON can carry. */
export function verdictRecord(v: ThresholdVerdict): ThresholdVerdictRecord {
  return {threshold: v.threshold, ok: v.ok, observed: Number.isFinite(v.observed) ? v.observed : null, observedText: v.observedText, limitText: v.limitText}
}

/** Flags whose value is a secret. Matched on the long name, with or without `=value`. */
const SECRET_FLAG = /^--?[\w-]*(?:password|passphrase|secret|token)$/i
const MASK = '***'

/**
 * argv with secrets masked: the value of any password/passphrase/secret/token flag, and the password of any URL
 * (`mqtt://user:pw@host` -> `mqtt://user:***@host`). Idempotent, so a result can be redacted again on writing.
 */
export function redactCommandLine(argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const eq = arg.indexOf('=')
    if (arg.startsWith('-') && eq > 0 && SECRET_FLAG.test(arg.slice(0, eq))) {
      out.push(`${arg.slice(0, eq)}=${MASK}`)
    } else if (SECRET_FLAG.test(arg) && i + 1 < argv.length) {
      out.push(arg, MASK)
      i++
    } else {
      out.push(redactUrl(arg))
    }
  }
  return out
}

/**
 * The result as JSON text (2-space indent, trailing newline) for `--json` and `--out`. Secrets are masked again
 * here, and the result is checked against its schema: a result that could not be read back is a bug, caught when
 * written rather than when a CI job later reads it.
 */
export function toJson(result: BenchResult): string {
  const redacted: BenchResult = {
    ...result,
    meta: {...result.meta, brokers: result.meta.brokers.map(redactUrl), commandLine: redactCommandLine(result.meta.commandLine)},
  }
  const checked = benchResultSchema.safeParse(redacted)
  if (!checked.success) {
    const first = checked.error.issues[0]
    throw new IotdError(`internal error: the bench result does not match its schema at ${formatPath(first.path as PropertyKey[]) || '(root)'}: ${first.message}`)
  }
  return `${JSON.stringify(checked.data, null, 2)}\n`
}

// ---- reading a result ---------------------------------------------------------------------------------------------

/**
 * The largest result file read. A result grows with its run: a timeline row per second, each with its interval
 * histogram. Measured on a merge of 100 shards at 1,000 messages/s each with long-tailed latencies: about 5.2 KB per
 * second of run (a 1 h run 19 MB, a day-long soak about 450 MB), so this holds a day-long merged run with a margin;
 * a larger file is not a result.
 */
export const RESULT_FILE_MAX_BYTES = 512 * 1024 * 1024

/** iotd writes a result as one JSON object from its first byte; this much of a large file tells whether it is one. */
const RESULT_PROBE_BYTES = 64 * 1024

/** Reads and validates a saved result file; every problem is a ConfigError (exit 2) naming the file. */
export function loadBenchResult(file: string): BenchResult {
  refuseUnreadableResult(file)
  return parseBenchResult(readConfigText(file, RESULT_FILE_MAX_BYTES), file)
}

/**
 * What can be told of a result file before reading it whole: one over the cap, or a large one that does not begin
 * with a JSON object (100 MB of spaces were read into 591 MB of memory to end in "unexpected end of the file").
 * A file that cannot be opened is left to readConfigText, which words it.
 */
function refuseUnreadableResult(file: string): void {
  let size: number
  try {
    const stat = statSync(file)
    if (!stat.isFile()) return
    size = stat.size
  } catch {
    return
  }
  const suggestions = ['bench results are written by iotd bench --out <file> or --json']
  if (size > RESULT_FILE_MAX_BYTES) {
    throw new ConfigError([{file, message: `the file is ${formatMiB(size)}, larger than the ${formatMiB(RESULT_FILE_MAX_BYTES)} a bench result may be (a merge of 100 shards of a day-long run writes about 450 MB)`}], suggestions)
  }
  if (size <= RESULT_PROBE_BYTES) return
  const start = Buffer.alloc(RESULT_PROBE_BYTES)
  const fd = openSync(file, 'r')
  let read: number
  try {
    read = readSync(fd, start, 0, start.length, 0)
  } finally {
    closeSync(fd)
  }
  const text = start.subarray(0, read).toString('latin1')
  const first = text.search(/[^ \t\r\n]/)
  if (first < 0 || text[first] !== '{') {
    const what = first < 0 ? `its first ${formatKiB(read)} are whitespace` : `it begins with "${text.slice(first, first + 20).replace(/[^\x20-\x7e]/g, '?')}"`
    throw new ConfigError([{file, ...(first < 0 ? {} : lineCol(text, first)), message: `not an iotd bench result: ${what}, where a result is one JSON object ({ ... }); the file (${formatMiB(size)}) was not read further`}], suggestions)
  }
}

function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`
}

function formatKiB(bytes: number): string {
  return `${Math.round(bytes / 1024)} KiB`
}

/**
 * Validates result text. Syntax errors carry file:line:col; schema problems carry the JSON path (and its
 * line:col in the text), e.g. `shard-1.json:14:14: counts.sent: Invalid input: expected number, received string`.
 */
export function parseBenchResult(text: string, file: string): BenchResult {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    const err = locateJsonSyntaxError(text)
    throw new ConfigError([{file, ...lineCol(text, err.offset), message: `not valid JSON: ${err.message}`}])
  }
  const suggestions = ['bench results are written by iotd bench --out <file> or --json']
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{file, line: 1, col: 1, message: 'expected a JSON object (an iotd bench result)'}], suggestions)
  }
  const version = (raw as Record<string, unknown>).schemaVersion
  if (version === undefined) {
    throw new ConfigError([{file, line: 1, col: 1, message: 'no schemaVersion: this does not look like an iotd bench result'}], suggestions)
  }
  if (typeof version === 'number' && version > BENCH_RESULT_SCHEMA_VERSION) {
    throw new ConfigError(
      [{file, ...locateJsonPath(text, ['schemaVersion']), path: 'schemaVersion', message: `schemaVersion ${version} was written by a newer iotd; this one reads version ${BENCH_RESULT_SCHEMA_VERSION}`}],
      ['upgrade iotd'],
    )
  }
  const parsed = benchResultSchema.safeParse(raw)
  if (parsed.success) {
    // The schema checks types; a histogram cut short or counts that cannot both be true pass it, and would be shown
    // as if measured. Every reader (show, html, compare, merge) refuses them here, each with the same words.
    const problems = [...histogramProblems(parsed.data, text, file), ...countProblems(parsed.data.counts, text, file)]
    if (problems.length > 0) throw new ConfigError(problems, suggestions)
    return parsed.data
  }
  // A file that is wrong everywhere (a timeline of garbage) would print thousands of lines: ConfigError shows the
  // first MAX_PROBLEMS_SHOWN and counts the rest, so only those are located.
  const issues = parsed.error.issues
  throw new ConfigError(issueProblems(issues.slice(0, MAX_PROBLEMS_SHOWN), raw, text, file), [], Math.max(0, issues.length - MAX_PROBLEMS_SHOWN))
}

/**
 * Decodes a result's encoded histogram (into `into` when given, as a merge adds shards up); one that does not decode
 * is a ConfigError naming the file and path. The one check of a stored histogram: loading a result, merging results
 * and judging thresholds on one all go through it.
 */
export function decodeResultHistogram(encoded: string, where: {file: string; path: string; text?: string}, into?: LatencyHistogram): LatencyHistogram {
  try {
    return mergeEncoded(encoded, into)
  } catch (error) {
    const position = where.text === undefined ? {} : locateJsonPath(where.text, where.path.split('.'))
    throw new ConfigError([{file: where.file, ...position, path: where.path, message: `${where.path} is not a readable HDR histogram (${error instanceof Error ? error.message : String(error)})`}])
  }
}

function histogramProblems(result: BenchResult, text: string, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  for (const d of LATENCY_DISTRIBUTIONS) {
    const stored = result.histograms[d]
    if (!stored) continue
    try {
      decodeResultHistogram(stored.encoded, {file, path: `histograms.${d}.encoded`, text}).destroy()
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems.push(...error.problems)
    }
  }
  return problems
}

const n = (x: number) => x.toLocaleString('en-US')

/**
 * Delivery counts that cannot all be true of one run. iotd bench counts only measured messages, so the distinct
 * ones (received − duplicated) are at most the expected ones and lost is exactly what is missing (a merge keeps
 * that: a sum of per-shard losses, or the whole run's). A file that breaks it was edited or damaged.
 */
function countProblems(counts: BenchCounts, text: string, file: string): ConfigProblem[] {
  const {expected, received, lost} = counts
  const duplicated = counts.duplicated ?? 0
  const at = (key: keyof BenchCounts, message: string): ConfigProblem => ({file, ...locateJsonPath(text, ['counts', key]), path: `counts.${key}`, message: `counts do not add up: ${message}`})
  if ((counts.droppedDown ?? 0) > counts.dropped) return [at('droppedDown', `${n(counts.droppedDown ?? 0)} dropped while the connection was down of ${n(counts.dropped)} dropped`)]
  if (received === null) return []
  if (duplicated > received) return [at('duplicated', `${n(duplicated)} duplicated of ${n(received)} received`)]
  if (expected === null) return []
  const distinct = received - duplicated
  const dupNote = duplicated > 0 ? ` (${n(distinct)} distinct)` : ''
  if (distinct > expected) return [at('received', `${n(received)} received${dupNote} of ${n(expected)} expected, lost ${lost === null ? 'unknown' : n(lost)}: more distinct messages arrived than were sent to be received`)]
  if (lost !== null && lost !== expected - distinct) return [at('lost', `lost ${n(lost)}, but ${n(received)} received${dupNote} of ${n(expected)} expected leaves ${n(expected - distinct)} missing`)]
  return []
}

function issueProblems(issues: readonly z.core.$ZodIssue[], raw: unknown, text: string, file: string): ConfigProblem[] {
  const shown = issues.map((issue) => {
    const path = issue.path as PropertyKey[]
    const missing = path.length > 0 && isMissing(raw, path)
    // A missing key has no position of its own: point at the object that lacks it.
    return {issue, path, missing, at: missing ? path.slice(0, -1) : path}
  })
  const offsets = locateJsonPaths(text, shown.map((s) => s.at))
  const problems: ConfigProblem[] = shown.map(({issue, path, missing, at}, k) => {
    const where = formatPath(path)
    const position = lineCol(text, offsets[k] ?? 0)
    if (missing) {
      const inParent = at.length ? ` in ${formatPath(at)}` : ''
      return {file, ...position, path: where, message: `missing key "${String(path.at(-1))}"${inParent}`}
    }
    return {file, ...position, path: where, message: where ? `${where}: ${issue.message}` : issue.message}
  })
  return problems
}

/** True when the object at path[0..-1] exists but lacks the last key (zod words this differently per type). */
function isMissing(raw: unknown, path: readonly PropertyKey[]): boolean {
  let node = raw
  for (const seg of path.slice(0, -1)) {
    if (node === null || typeof node !== 'object') return false
    node = (node as Record<PropertyKey, unknown>)[seg]
  }
  return node !== null && typeof node === 'object' && (node as Record<PropertyKey, unknown>)[path[path.length - 1]] === undefined
}

// ---- JSON Schema --------------------------------------------------------------------------------------------------

/** The JSON Schema of bench results; scripts/generate-bench-schema.ts writes it to schemas/bench-result.schema.json. */
export function benchResultJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(benchResultSchema, {io: 'input'}) as Record<string, unknown>
  return {
    ...schema,
    $id: 'https://iotd.dev/schemas/bench-result.schema.json',
    title: `iotd bench result (schemaVersion ${BENCH_RESULT_SCHEMA_VERSION})`,
    description: 'What `iotd bench --json` prints and `--out` saves; read by `iotd report`. Reference: docs/bench.md',
  }
}

export function benchResultJsonSchemaText(): string {
  return `${JSON.stringify(benchResultJsonSchema(), null, 2)}\n`
}
