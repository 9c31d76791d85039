/**
 * `iotd record`: an MQTT source into the file sink in capture format (docs/capture-format.md), with rotation.
 * QoS 1 messages are acknowledged to the broker only after the sink took them.
 */
import {FileSink} from '../pipeline/sinks/file.js'
import {MqttSource, mqttSourceOptions, type MqttSourceOptions} from '../pipeline/sources/mqtt.js'
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
  received: number
  recorded: number
  bytes: number
  files: string[]
  durationMs: number
  interrupted: boolean
}

export async function runRecord(opts: RecordOptions): Promise<RecordSummary> {
  const started = performance.now()
  const sourceOptions = mqttSourceOptions.parse({payload: 'raw', ...opts.source})
  const where = opts.where ? compileWhere(opts.where) : undefined
  const stop = stopSignal([opts.signal], opts.durationMs)
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
  let userInterrupted = false
  opts.signal?.addEventListener('abort', () => (userInterrupted = true), {once: true})
  const progress = setInterval(() => opts.onProgress?.({received: source.stats.received, messages: sink.stats.rows, bytes: sink.stats.bytes, file: sink.currentPath, elapsedMs: performance.now() - started}), 1000)
  progress.unref()
  let recorded = 0
  try {
    await source.connect(stop.signal)
    await sink.open(ctx)
    opts.onReady?.(source.broker, sourceOptions.topics)
    for await (const batch of source.readBatches(ctx)) {
      let keep: PipelineRecord[] = []
      let done = false
      if (!where && (opts.count === undefined || recorded + batch.length < opts.count)) keep = batch.map((d) => d.record)
      else {
        for (const d of batch) {
          if (done || (where && !where(d.record))) continue
          keep.push(d.record)
          if (opts.count !== undefined && recorded + keep.length >= opts.count) done = true
        }
      }
      recorded += keep.length
      if (keep.length > 0) await sink.write(keep)
      for (const d of batch) d.ack()
      if (done || (opts.count !== undefined && recorded >= opts.count)) break
    }
  } finally {
    clearInterval(progress)
    stop.dispose()
    await source.close()
    await sink.close()
  }
  return {
    schemaVersion: 1,
    broker: source.broker,
    topics: sourceOptions.topics,
    received: source.stats.received,
    recorded,
    bytes: sink.stats.bytes,
    files: sink.stats.files,
    durationMs: performance.now() - started,
    interrupted: userInterrupted,
  }
}
