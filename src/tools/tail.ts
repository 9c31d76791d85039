/**
 * `iotd tail`: an MQTT source feeding a terminal printer (and, with --record, the file sink in capture format).
 *
 * Floods: in `ndjson`/`csv`/`raw` the printer waits for stdout to drain, so the source pauses its socket and the
 * broker holds the rest (nothing is lost). On a terminal in `text` mode nobody reads 50,000 lines a second; the
 * printer shows at most `maxLinesPerSecond`, skips the rest and says how many it skipped, so what is on screen is
 * never minutes old.
 */
import {once} from 'node:events'
import type {Writable} from 'node:stream'
import {paint} from '../report/terminal.js'
import {formatNumber, formatRate} from '../metrics/format.js'
import {FileSink} from '../pipeline/sinks/file.js'
import {MqttSource, mqttSourceOptionsFrom, type MqttSourceOptions} from '../pipeline/sources/mqtt.js'
import type {PipelineRecord} from '../pipeline/types.js'
import {SparkplugHostSession, type HostCounters, type SparkplugObservation} from '../sparkplug/host-session.js'
import {NAMESPACE} from '../sparkplug/topic.js'
import {hostCountersLine, observationJson} from '../sparkplug/views.js'
import {stopSignal, toolContext} from './context.js'
import {csvHeader, formatCsv, formatNdjson, formatRaw, formatSparkplugText, formatText, type BinaryStyle, type JsonStyle, type TailFormat} from './tail-format.js'
import {TopicStats} from './topic-stats.js'
import {compileFields, compileWhere} from './where.js'

export interface TailOptions {
  source: Partial<MqttSourceOptions> & {url: string}
  format: TailFormat
  where?: string
  fields?: string[]
  count?: number
  durationMs?: number
  stats?: boolean
  /** Also write a capture file (iotd tail --record). */
  record?: {path: string; rotateSize?: number; rotateEvery?: number}
  out: Writable & {isTTY?: boolean; columns?: number; rows?: number}
  /** A person is watching (stdout is a terminal, not CI): flood skipping and the live stats table. */
  interactive: boolean
  color: boolean
  json?: JsonStyle
  binary?: BinaryStyle
  maxLinesPerSecond?: number
  signal?: AbortSignal
  warn?: (message: string) => void
  /** Called once subscribed (the broker has granted every filter). */
  onReady?: (broker: string, topics: string[]) => void
  now?: () => number
}

export interface TailSummary {
  schemaVersion: 1
  broker: string
  topics: string[]
  received: number
  matched: number
  shown: number
  skipped: number
  invalid: number
  durationMs: number
  interrupted: boolean
  recorded?: {rows: number; files: string[]}
  topicStats?: ReturnType<TopicStats['toJSON']>
  /** Sparkplug B messages seen and the host application's checks on them (seq gaps, data before birth, stale bdSeq). */
  sparkplug?: HostCounters
}

export const DEFAULT_MAX_LINES_PER_SECOND = 1000

export async function runTail(opts: TailOptions): Promise<TailSummary> {
  const now = opts.now ?? Date.now
  const started = now()
  const sourceOptions = mqttSourceOptionsFrom({payload: 'auto', ...opts.source})
  const where = opts.where ? compileWhere(opts.where) : undefined
  const project = opts.fields && opts.fields.length > 0 ? compileFields(opts.fields) : undefined
  const stop = stopSignal([opts.signal], opts.durationMs)
  const ctx = toolContext(stop.signal, opts.warn)
  const source = new MqttSource('tail', sourceOptions)
  const sink = opts.record ? new FileSink('record', {path: opts.record.path, format: 'capture', properties: sourceOptions.protocol === '5', rotateSize: opts.record.rotateSize, rotateEvery: opts.record.rotateEvery, flushInterval: 1000, bufferSize: 1 << 20, append: false}) : undefined
  const out = opts.out
  const stats = opts.stats ? new TopicStats(now) : undefined
  // Sparkplug B topics are decoded as a host application reads them: every message goes through the checks, also
  // those that --where filters out or that a flood keeps off the screen.
  const sparkplug = new SparkplugHostSession()
  const statsText = (rows: number) => `${stats?.render(rows) ?? ''}${sparkplug.counters.messages > 0 ? `${hostCountersLine(sparkplug.counters, formatNumber)}\n` : ''}`
  const c = paint(opts.color)
  // One line per message unless asked: an indented object is a dozen lines, and at a few hundred messages a second
  // nobody reads that.
  const textOptions = {paint: c, columns: out.columns ?? 100, json: opts.json ?? 'compact', binary: opts.binary ?? 'hex'}
  const withProperties = sourceOptions.protocol === '5'
  const maxLines = opts.maxLinesPerSecond ?? DEFAULT_MAX_LINES_PER_SECOND
  let matched = 0
  let shown = 0
  let skipped = 0
  let skippedSinceNote = 0
  let budget = maxLines
  let shownThisSecond = 0
  let statsLines = 0
  let userInterrupted = false
  opts.signal?.addEventListener('abort', () => (userInterrupted = true), {once: true})

  const write = async (chunk: string | Buffer) => {
    // A reader gone (EPIPE) is an 'error' on `out`, which rejects once(); the caller's error listener ends the run.
    // The wait's listeners go with it (a 'close' listener left per wait would pile up into a warning).
    if (!out.write(chunk)) {
      const waited = new AbortController()
      await Promise.race([once(out, 'drain', {signal: waited.signal}), once(out, 'close', {signal: waited.signal})]).catch(() => undefined)
      waited.abort()
    }
  }
  const drawStats = () => {
    if (!stats) return
    stats.tick()
    if (!opts.interactive) return
    const rows = Math.max(3, (out.rows ?? 24) - 4)
    const table = statsText(rows)
    // Move back over the previous table and clear below: one frame, no flicker of a full-screen clear.
    out.write(`${statsLines > 0 ? `\x1b[${statsLines}A\x1b[0J` : ''}${table}`)
    statsLines = table.split('\n').length - 1
  }
  const timer = setInterval(() => {
    budget = maxLines
    if (stats) drawStats()
    else if (skippedSinceNote > 0) {
      const note = `… ${formatNumber(skippedSinceNote)} messages not shown in the last second (${formatRate(skippedSinceNote + shownThisSecond, 'msg')}; --stats or --format ndjson keep up with every message)\n`
      out.write(c.dim(note))
      skippedSinceNote = 0
    }
    shownThisSecond = 0
  }, 1000)

  try {
    await source.connect(stop.signal, ctx.warn)
    if (sink) await sink.open(ctx)
    opts.onReady?.(source.broker, sourceOptions.topics)
    if (opts.format === 'csv' && !stats) await write(csvHeader(opts.fields, withProperties))
    const floodSkips = opts.interactive && opts.format === 'text' && !stats
    for await (const batch of source.readBatches(ctx)) {
      let text = ''
      const raw: Buffer[] = []
      const keep: PipelineRecord[] = []
      let done = false
      for (const d of batch) {
        const r = d.record
        if (done) continue
        const spb: SparkplugObservation | undefined = r.topic?.startsWith(`${NAMESPACE}/`) && r.payload ? sparkplug.observe(r.topic, r.payload) : undefined
        // The decoded message stands in for the payload in --where, --fields, text and ndjson; csv, raw and
        // --record keep the bytes.
        if (spb) r.fields = observationJson(spb)
        if (where && !where(r)) continue
        matched++
        if (sink) keep.push(r)
        if (stats) stats.add(r.topic ?? '', r.payload?.length ?? 0, r.ts)
        else if (floodSkips && (budget <= 0 || out.writableLength > 1 << 18)) {
          skipped++
          skippedSinceNote++
        } else {
          shown++
          shownThisSecond++
          const projected = project?.(r)
          switch (opts.format) {
            case 'text': {
              const lines = spb && !projected ? formatSparkplugText(r, spb, textOptions) : formatText(r, textOptions, projected)
              // The budget is of lines on the screen: an indented message spends as many as it prints.
              budget -= countLines(lines)
              text += lines
              break
            }
            case 'ndjson':
              text += formatNdjson(r, projected)
              break
            case 'csv':
              text += formatCsv(r, withProperties, projected)
              break
            case 'raw':
              raw.push(formatRaw(r))
              break
          }
        }
        if (opts.count !== undefined && matched >= opts.count) done = true
      }
      if (sink && keep.length > 0) await sink.write(keep)
      for (const d of batch) d.ack()
      if (text) await write(text)
      if (raw.length > 0) await write(Buffer.concat(raw))
      if (done) break
    }
  } finally {
    clearInterval(timer)
    stop.dispose()
    await source.close()
    await sink?.close()
  }
  if (stats) {
    if (opts.interactive) drawStats()
    else out.write(statsText(1000))
  } else if (skippedSinceNote > 0) out.write(c.dim(`… ${formatNumber(skippedSinceNote)} messages not shown\n`))
  return {
    schemaVersion: 1,
    broker: source.broker,
    topics: sourceOptions.topics,
    received: source.stats.received,
    matched,
    shown,
    skipped,
    invalid: source.stats.invalid,
    durationMs: now() - started,
    interrupted: userInterrupted,
    recorded: sink ? {rows: sink.stats.rows, files: sink.stats.files} : undefined,
    topicStats: stats?.toJSON(),
    sparkplug: sparkplug.counters.messages > 0 ? {...sparkplug.counters} : undefined,
  }
}

function countLines(text: string): number {
  let n = 0
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++
  return n
}
