/**
 * The contract between pipeline stages: sources produce deliveries (a record plus its ack handle), the runtime runs
 * rules and windows over the records, sinks accept batches. `iotd pipeline run`, `tail`, `record` and `replay` are
 * all built from these pieces.
 *
 * Records are plain objects. A source decodes what it can; what it cannot decode goes to the dead-letter path with
 * the reason, never silently away.
 */

/**
 * The clock of arrivals: every source's `meta.arrivedAt`, the window emit's, and the sink runner's end of a latency
 * read it, so a latency is the difference of two readings of one clock. Epoch ms with µs precision (the mqtt
 * source stamps sub-ms arrivals); Date.now() is whole ms and up to 1 ms behind it, which made sub-ms latencies negative.
 */
export function arrivalNow(): number {
  return performance.timeOrigin + performance.now()
}

/** Where a record came from and what MQTT said about it. Everything but `source` is optional: a CSV row has no QoS. */
export interface RecordMeta {
  /** Name of the source that produced the record (as in the pipeline file). */
  source: string
  topic?: string
  qos?: 0 | 1 | 2
  retain?: boolean
  clientid?: string
  messageid?: number
  /** MQTT: the broker marked this delivery as a redelivery (DUP flag). */
  dup?: boolean
  /** MQTT 5 properties as received (userProperties, contentType, ...). */
  properties?: Record<string, unknown>
  /** Where in the input the record is, for error messages: `capture.csv row 17`, `stdin line 3`. */
  position?: string
  /** When the record was received or read (arrivalNow(): epoch ms), as opposed to its event time `ts`. */
  arrivedAt?: number
}

export interface PipelineRecord {
  /** Event time, milliseconds since the Unix epoch. */
  ts: number
  topic?: string
  /** Partitioning key, when the source knows one (device id). */
  key?: string
  /** The bytes as they arrived (MQTT payload, CSV payload column). Absent when the source produced fields only. */
  payload?: Buffer
  /** The decoded payload: an object for JSON and mapped CSV, a string for text, undefined when not decoded. */
  fields?: unknown
  meta: RecordMeta
}

/**
 * One record plus its acknowledgement. `ack` is called exactly once, after every sink has accepted everything the
 * record contributed to (or when it was filtered out); sources that cannot acknowledge (stdin, CSV) pass a no-op.
 */
export interface Delivery {
  record: PipelineRecord
  ack(): void
}

/**
 * The ack of sources that cannot acknowledge (files, stdin, simulations). Use this one shared function rather than a
 * fresh `() => {}`: the runtime recognises it and skips ack bookkeeping on the hot path.
 */
export const NOOP_ACK = (): void => {}

/** What goes to the dead-letter file: the input as far as it is known, and why it was refused. */
export interface DeadLetterEntry {
  /** Stage that refused it: `source:plant`, `rule:hot`, `sink:db`. */
  stage: string
  reason: string
  record?: PipelineRecord
  /** The raw input when no record could be made (an undecodable line). */
  raw?: string
  at: number
}

export interface StageContext {
  /** Aborted when the run stops (Ctrl-C, --duration, end of every source). */
  signal: AbortSignal
  /** Route something that cannot be processed; counted by the runtime. */
  deadLetter(entry: DeadLetterEntry): void
  /** A warning for the user (stderr or the live view); not for per-message noise. */
  warn(message: string): void
  /**
   * The run resumes from a checkpoint of an earlier run: what that run's sinks wrote is kept (a file sink appends),
   * since the checkpoint forgot the input it came from.
   */
  resuming?: boolean
}

export interface Source {
  readonly name: string
  /**
   * Yields deliveries until the input ends or `ctx.signal` aborts. Backpressure is the consumer's pace: a source
   * must not buffer without bound while the iterator is not being pulled (an MQTT source pauses its socket).
   */
  read(ctx: StageContext): AsyncIterable<Delivery>
  /**
   * Optional fast path for high-rate sources: the same deliveries in arrays (one await per batch instead of one per
   * record). When present the runtime uses it instead of `read`.
   */
  readBatches?(ctx: StageContext): AsyncIterable<readonly Delivery[]>
  /** Releases connections and files; safe to call more than once. */
  close(): Promise<void>
  /**
   * Resumable sources whose deliveries depend on when the run started (a simulation: its start of simulated time
   * and how that maps to the wall clock): what a checkpoint keeps, so a restart reads the same deliveries again.
   * Undefined until reading has begun.
   */
  startState?(): unknown
  /** Before reading: the `startState()` of the run this one resumes. */
  resumeStart?(data: unknown): void
}

export interface Sink {
  readonly name: string
  open(ctx: StageContext): Promise<void>
  /**
   * Accepts a batch. Resolves once the batch is durable as far as this sink can tell (written, acknowledged by the
   * broker or database). A rejection with a TransientSinkError (or any error carrying `transient: true`) asks the
   * runtime to retry the batch with backoff (the sink's `retry:` options); any other rejection is permanent and the
   * batch goes, row by row, to the dead letter with the reason. A sink may also retry inside itself.
   */
  write(batch: readonly PipelineRecord[]): Promise<void>
  /** Writes out anything buffered (called before close and on --flush intervals). */
  flush(): Promise<void>
  close(): Promise<void>
}

/** Thrown by a sink for a failure worth retrying (connection refused, timeout, HTTP 503). */
export class TransientSinkError extends Error {
  readonly transient = true
  constructor(message: string, options?: {cause?: unknown}) {
    super(message, options)
    this.name = 'TransientSinkError'
  }
}

/** Whether a sink error asks for a retry (see Sink.write). */
export function isTransientSinkError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as {transient?: unknown}).transient === true
}

// ---- components -----------------------------------------------------------------------------------------------------

/** A problem check() finds: the option's path inside the source or sink entry, and what is wrong. */
export interface ComponentProblem {
  path: PropertyKey[]
  message: string
}

/** What a component factory may need beyond its options. */
export interface ComponentEnv {
  /** Directory of the pipeline file: relative paths in options resolve against it. */
  baseDir: string
  /** Process environment (for secrets given by name); defaults to process.env. */
  env: Readonly<Record<string, string | undefined>>
  /** Sinks: output columns the rule makes whole numbers (count(*), cast(x, 'bigint')), so a created table types them so. */
  integerColumns?: readonly string[]
}

/**
 * A source or sink kind, registered once: its zod options schema gives validation, defaults, the JSON Schema and
 * the reference docs. Each kind lives in one file under sources/ or sinks/ and exports its spec.
 */
export interface ComponentSpec<Options, Made> {
  /** The `type:` value in the pipeline file, e.g. `mqtt`. */
  type: string
  /** One line for `iotd pipeline list` and the reference. */
  summary: string
  /** A zod schema of the options (zod 4). */
  options: import('zod').ZodType<Options>
  /**
   * What a run would refuse before it connects that the schema cannot see: files named relative to the pipeline
   * file (TLS certificates). Run by the config loader, so `pipeline lint` and `pipeline run` refuse the same; each
   * problem at an option's path. Never the network.
   */
  check?(options: Options, env: ComponentEnv): ComponentProblem[]
  /**
   * The part of check() that needs no other option to be right, run in its place when the schema refused some
   * option, so one pass reports both (a malformed url and the TLS file it would read). Given the options as
   * written, unparsed: it reads what it needs defensively and skips what the schema already refuses.
   */
  checkUnparsed?(options: Readonly<Record<string, unknown>>, env: ComponentEnv): ComponentProblem[]
  create(options: Options, name: string, env: ComponentEnv): Made
  /**
   * Sources only: the input ends by itself (a file, stdin, a simulation). Finite inputs get the end-of-input flush
   * and are exempt from the future-skew check; live ones (MQTT, Modbus) run until stopped. Default: live.
   */
  finite?: boolean
  /**
   * Finite sources only: a second read yields the same deliveries in the same order (a file), so a restart resumes
   * by skipping what the checkpoint says was taken. Every other source is written to the input log instead (a
   * stream cannot be read again). A function when it depends on the options or on what the input is.
   */
  resumable?: boolean | ((options: Options) => boolean)
  /**
   * Sinks only: where this sink sends a record (mqtt: its topic; nats: its subject; postgres: its table and upsert
   * key), as the sink computes it, for the `sinks:` assertions of `pipeline test`.
   */
  destination?(options: Options): (record: PipelineRecord) => Record<string, unknown>
  /** Sinks only: default batching of this kind when the pipeline file gives no `batch:` (databases want big batches). */
  batch?: {count: number; intervalMs: number}
  /** Options shown in the reference as an example (`iotd pipeline explain`, docs). */
  example?: Record<string, unknown>
}

export type SourceSpec<Options> = ComponentSpec<Options, Source>
export type SinkSpec<Options> = ComponentSpec<Options, Sink>

export function defineSource<Options>(spec: SourceSpec<Options>): SourceSpec<Options> {
  return spec
}

export function defineSink<Options>(spec: SinkSpec<Options>): SinkSpec<Options> {
  return spec
}
