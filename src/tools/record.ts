/**
 * `iotd record`: an MQTT source into the file sink in capture format (docs/capture-format.md), with rotation.
 * At least once: a QoS 1 message is acknowledged to the broker only once its row is on disk (written and
 * fdatasync'd; FileSink.whenDurable), so a crash or a full disk loses nothing the broker considers delivered (with
 * a persistent session the broker sends the unacknowledged ones again). On MQTT 5 the subscription asks for
 * retain-as-published, so the retain column says how each message was published.
 */
import {FileSink} from '../pipeline/sinks/file.js'
import {MqttSource, mqttSourceOptionsFrom, type MqttSourceOptions} from '../pipeline/sources/mqtt.js'
import type {PipelineRecord} from '../pipeline/types.js'
import {stopSignal, toolContext} from './context.js'
import {compileWhere} from './where.js'

export interface RecordOptions {
  source: Partial<MqttSourceOptions> & {url: string}
  out: string
  where?: string
  count?: number
  durationMs?: number
  rotateSize?: number
  rotateEvery?: number
  /** Add the properties column (default: when the source speaks MQTT 5). */
  properties?: boolean
  signal?: AbortSignal
  warn?: (message: string) => void
  /** Called once subscribed (the broker has granted every filter). */
  onReady?: (broker: string, topics: string[]) => void
  /** Called about once a second. */
  onProgress?: (p: RecordProgress) => void
}

export interface RecordProgress {
  /** Messages received from the broker (recorded or not). */
  received: number
  messages: number
  bytes: number
  file: string | undefined
  elapsedMs: number
}

export interface RecordSummary {
  schemaVersion: 1
  broker: string
  topics: string[]
  /** Every message the broker delivered: recorded + filtered + notRecorded. */
  received: number
  recorded: number
  /** Left out by --where. */
  filtered: number
  /** Arrived after the recording stopped (--count reached, --duration over, Ctrl-C, an error); never acknowledged. */
  notRecorded: number
  /** Set when the recording ended on an error (the disk is full, ...); the figures cover what was stored until then. */
  error?: string
  bytes: number
  files: string[]
  durationMs: number
  interrupted: boolean
}

export async function runRecord(opts: RecordOptions): Promise<RecordSummary> {
  const started = performance.now()
  const sourceOptions = mqttSourceOptionsFrom({payload: 'raw', retainAsPublished: true, ...opts.source})
  const where = opts.where ? compileWhere(opts.where) : undefined
  // A failed write stops the recording at once, not at the next message (none may come).
  const writeFailed = new AbortController()
  const stop = stopSignal([opts.signal, writeFailed.signal], opts.durationMs)
  const ctx = toolContext(stop.signal, opts.warn)
  // --where needs decoded payloads; without it the bytes go to the file untouched (no JSON parse per message).
  const source = new MqttSource('record', where ? {...sourceOptions, payload: 'auto'} : sourceOptions)
  const sink = new FileSink('record', {
    path: opts.out,
    format: 'capture',
    properties: opts.properties ?? sourceOptions.protocol === '5',
    rotateSize: opts.rotateSize,
    rotateEvery: opts.rotateEvery,
    flushInterval: 1000,
    bufferSize: 1 << 20,
    append: false,
  })
  sink.onFailure = () => writeFailed.abort()
  let userInterrupted = false
  opts.signal?.addEventListener('abort', () => (userInterrupted = true), {once: true})
  const progress = setInterval(() => opts.onProgress?.({received: source.stats.received, messages: sink.stats.rows, bytes: sink.stats.bytes, file: sink.currentPath, elapsedMs: performance.now() - started}), 1000)
  progress.unref()
  let taken = 0
  let filtered = 0
  let failure: Error | undefined
  try {
    await source.connect(stop.signal, ctx.warn)
    await sink.open(ctx)
    opts.onReady?.(source.broker, sourceOptions.topics)
    failure = await recordInto()
  } finally {
    clearInterval(progress)
    stop.dispose()
    await source.close()
    await sink.close().catch((error: Error) => (failure ??= error))
  }

  /** The recording loop; a write that fails (the disk is full) ends it with the error as its result. */
  async function recordInto(): Promise<Error | undefined> {
    try {
      for await (const batch of source.readBatches(ctx)) {
        let keep: PipelineRecord[] = []
        let done = false
        let used = batch.length
        if (!where && (opts.count === undefined || taken + batch.length < opts.count)) keep = batch.map((d) => d.record)
        else {
          for (const [i, d] of batch.entries()) {
            if (where && !where(d.record)) {
              filtered++
              continue
            }
            keep.push(d.record)
            if (opts.count !== undefined && taken + keep.length >= opts.count) {
              done = true
              used = i + 1
              break
            }
          }
        }
        taken += keep.length
        if (keep.length > 0) await sink.write(keep)
        // Acknowledged once their rows are synced (the filtered ones with them, so acks keep the arrival order);
        // the messages after --count are neither recorded nor acknowledged.
        const acks = batch.slice(0, used)
        sink.whenDurable(() => {
          for (const d of acks) d.ack()
        })
        if (done || (opts.count !== undefined && taken >= opts.count)) break
      }
      await sink.flush()
      return undefined
    } catch (error) {
      return error as Error
    }
  }

  // What is on disk: a failed write was cut back to the rows synced before it, and only those count.
  const recorded = sink.stats.syncedRows
  const received = source.stats.received
  return {
    schemaVersion: 1,
    broker: source.broker,
    topics: sourceOptions.topics,
    received,
    recorded,
    filtered,
    notRecorded: received - recorded - filtered - source.stats.filtered,
    error: failure?.message,
    bytes: sink.stats.syncedBytes,
    files: sink.stats.files,
    durationMs: performance.now() - started,
    interrupted: userInterrupted,
  }
}
