/**
 * `iotd replay`: the csv source (a capture, or any CSV by column mapping) — or a pipeline's dead-letter file, whose
 * refused messages go back byte for byte (pipeline/sources/dead-letter-file.ts) — into the mqtt sink, paced by a clock:
 * - timed (default): each row at its recorded offset / speed (ReplayClock, monotonic, no drift), waits with waitUntil;
 * - rate (`--rate 5000/s`): ignores the recorded timing; the bench's open-loop scheduler paces the rows;
 * - max (`--max-speed`): as fast as the broker connection takes them, a batch per write.
 * The scheduling error |send time − due time| of every message goes into an HDR histogram (metrics/histogram.ts); a
 * message due within COALESCE_MS of one being written goes with it, early by that much at most.
 */
import {OpenLoopScheduler} from '../pacing/open-loop.js'
import {createHistogram, recordMicros, summarize} from '../metrics/histogram.js'
import {MqttSink} from '../pipeline/sinks/mqtt.js'
import {DeadLetterFileSource, isDeadLetterFile} from '../pipeline/sources/dead-letter-file.js'
import {CsvSource, csvSourceOptions, type BadRow, type CsvSourceOptions} from '../pipeline/sources/csv.js'
import type {PipelineRecord} from '../pipeline/types.js'
import {DEFAULT_BACKOFF, retryWithBackoff, type BackoffOptions} from '../net/backoff.js'
import {isTopicName} from '../net/topic-rules.js'
import {formatMs} from '../metrics/format.js'
import {isTransientSinkError} from '../pipeline/types.js'
import {toolContext} from './context.js'
import {ReplayClock, waitUntil} from './replay-clock.js'

export interface TopicMapping {
  from: string
  to: string
}

export type ReplayStart = number | {offsetMs: number}

export interface ReplayOptions {
  file: string
  /** Column mapping and parsing (format, delimiter, timeColumn, topic, payloadColumns, strict, ...). */
  csv?: Partial<Omit<CsvSourceOptions, 'path'>>
  broker: {url: string; username?: string; password?: string; protocol?: '3.1.1' | '5'; clientId?: string; tls?: {ca?: string; cert?: string; key?: string}; insecure?: boolean}
  speed?: number
  /** Messages per second, ignoring the recorded timing. */
  rate?: number
  maxSpeed?: boolean
  /** Passes over the file; Infinity loops until stopped. Default 1. */
  loops?: number
  /** Only rows at or after this time (epoch ms, or an offset from the first row). */
  start?: ReplayStart
  /** Only rows before this time. */
  end?: ReplayStart
  topicPrefix?: string
  topicMap?: TopicMapping[]
  qos?: 0 | 1 | 2
  retain?: boolean
  signal?: AbortSignal
  warn?: (message: string) => void
  onProgress?: (p: ReplayProgress) => void
  /** Monotonic clock in ms (performance.now); injectable for tests. */
  now?: () => number
  /**
   * Connection attempts after the broker connection is lost mid-replay, the first one at once, then with backoff
   * (net/backoff.ts). Default 10 (about a minute and a half at most); 0 gives up at the first loss.
   */
  reconnectAttempts?: number
  /** Backoff between those attempts (default DEFAULT_BACKOFF: 0.5 s doubling to 30 s, full jitter). */
  reconnectBackoff?: BackoffOptions
}

export interface ReplayProgress {
  bytesRead: number
  /** Undefined for stdin or endless loops. */
  totalBytes: number | undefined
  rows: number
  published: number
  elapsedMs: number
  loop: number
}

export interface TimingSummary {
  count: number
  p50: number
  p99: number
  max: number
}

export interface ReplaySummary {
  schemaVersion: 1
  file: string
  broker: string
  shape: 'capture' | 'mapped' | 'dead-letter' | undefined
  mode: 'timed' | 'rate' | 'max'
  speed?: number
  rate?: number
  loops: number
  /** Rows read, bad ones included: rows = published + skipped + notSent. */
  rows: number
  /** Messages the broker took: QoS 0 written to the connection, QoS 1/2 acknowledged. */
  published: number
  skipped: number
  skippedReasons: Record<string, number>
  /**
   * Rows read and due to go out that were not published: read ahead when the replay was interrupted, or written
   * but not acknowledged (or not written) when it stopped.
   */
  notSent: number
  badRows: BadRow[]
  outOfOrder: number
  /**
   * Connection losses mid-replay: each was followed by a reconnect with backoff. Messages unacknowledged (or not
   * yet written) at a loss were written again after it (`retried`, at-least-once: a subscriber may see some twice);
   * messages due while the broker was away went out after it came back, late, and count in `timing`.
   */
  connection: {losses: number; outageMs: number; retried: number}
  /** Why the replay stopped early (it gave up reconnecting); the figures cover the replay until then. */
  error?: string
  /** Scheduling error |send time − due time|, ms; absent at --max-speed. Includes the lateness an outage caused. */
  timing?: TimingSummary
  durationMs: number
  achievedRate: number
  interrupted: boolean
}

/** Rows per batch read in timed mode (see runReplay). */
const TIMED_BATCH_ROWS = 64
/**
 * A timed message due this close after the one being sent goes in the same write, early by at most this much,
 * instead of after it: a write() to a loopback socket blocks for 0.13 ms at the median and 1–1.5 ms at p99 on a
 * shared VM, and a message due meanwhile would leave late by the rest of it.
 */
const COALESCE_MS = 1
/** Paced writes whose callback has not come yet, at most (see runReplay). */
const MAX_UNCONFIRMED_WRITES = 256

export async function runReplay(opts: ReplayOptions): Promise<ReplaySummary> {
  const now = opts.now ?? (() => performance.now())
  const began = now()
  const mode: ReplaySummary['mode'] = opts.maxSpeed ? 'max' : opts.rate !== undefined ? 'rate' : 'timed'
  const speed = opts.speed ?? 1
  const loops = opts.loops ?? 1
  const controller = new AbortController()
  const signal = controller.signal
  let userInterrupted = false
  const onUserAbort = () => {
    userInterrupted = true
    controller.abort()
  }
  if (opts.signal?.aborted) onUserAbort()
  opts.signal?.addEventListener('abort', onUserAbort, {once: true})
  const ctx = toolContext(signal, opts.warn)
  // Timed replays take the file in small batches: parsing a batch is synchronous, and a message due meanwhile
  // would wait for it (1,024 rows take about 2 ms to parse here: the whole timing budget).
  // At --rate or --max-speed the recorded times are not used: a mapped CSV then needs no time column.
  const csvOptions = csvSourceOptions.parse({...(mode === 'timed' ? {batchSize: TIMED_BATCH_ROWS} : {untimed: true}), ...opts.csv, path: opts.file})
  const sink = new MqttSink('replay', {
    url: opts.broker.url,
    username: opts.broker.username,
    password: opts.broker.password,
    protocol: opts.broker.protocol ?? '3.1.1',
    tls: opts.broker.tls,
    insecure: opts.broker.insecure ?? false,
    clientId: opts.broker.clientId,
    topic: '${topic}',
    qos: opts.qos,
    retain: opts.retain,
    forwardProperties: true,
    keepalive: 60,
    connectAttempts: 3,
  })
  const histogram = mode === 'max' ? undefined : createHistogram()
  const skippedReasons: Record<string, number> = {}
  const skip = (reason: string) => (skippedReasons[reason] = (skippedReasons[reason] ?? 0) + 1)
  const mapTopic = topicMapper(opts.topicMap ?? [], opts.topicPrefix ?? '')
  // Both clocks start at the first row, after the connection is up and the file is open: setting up is not lateness.
  let clock: ReplayClock | undefined
  let scheduler: OpenLoopScheduler | undefined
  const startClocks = () => {
    clock ??= new ReplayClock(speed, now())
    if (mode === 'rate') scheduler ??= new OpenLoopScheduler({kind: 'rate', stages: [{durationMs: Number.POSITIVE_INFINITY, startRate: opts.rate!, endRate: opts.rate!}]}, {now, maxLagMs: Number.POSITIVE_INFINITY, maxBatch: 4096})
    return clock
  }
  let credit = 0
  let sentIndex = 0
  let rows = 0
  /** Messages handed to send(): each ends up published or not sent. */
  let accepted = 0
  let published = 0
  let pass = 0
  let bytesBefore = 0
  // A pipeline's dead-letter file replays as itself: the refused messages go back byte for byte.
  const deadLetters = isDeadLetterFile(opts.file)
  let source: CsvSource | DeadLetterFileSource | undefined
  let firstTs: number | undefined
  const badRows: BadRow[] = []
  const badReasons: Record<string, number> = {}
  let shape: ReplaySummary['shape']

  // Paced modes do not wait for a write's callback (it comes a loop turn or a few ms later) before the next
  // message's wait: that would make a message due within those ms late. A write the sink says later messages must
  // wait for (a QoS 2 handshake) is awaited; up to MAX_UNCONFIRMED_WRITES others are in flight.
  // A write that fails because the connection is gone (TransientSinkError) is kept, in order, and the next send
  // (or the end) reconnects with backoff and writes what failed again before anything newer: a QoS 1/2 message the
  // broker never acknowledged is never lost. Any other failure stops the replay at the next send.
  const unconfirmed = new Set<Promise<void>>()
  let writeFailure: unknown
  let writes = 0
  const failedWrites: Array<{seq: number; records: PipelineRecord[]}> = []
  const connection = {losses: 0, outageMs: 0, retried: 0}
  const reconnectAttempts = Math.max(0, opts.reconnectAttempts ?? 10)
  let gaveUp: string | undefined
  const write = (records: PipelineRecord[]): Promise<void> => {
    const seq = writes++
    // Counted when the write is confirmed (QoS 1/2 acknowledged), not when it is asked for: a write that fails or
    // is still unacknowledged when the replay stops is not sent.
    return sink.write(records).then(
      () => void (published += records.length),
      (err: unknown) => {
        if (isTransientSinkError(err)) failedWrites.push({seq, records})
        else writeFailure ??= err
      },
    )
  }
  /** Writes again what failed with the connection, reconnecting with backoff; throws GaveUp when it cannot. */
  const recover = async () => {
    await Promise.all(unconfirmed)
    if (writeFailure !== undefined) throw writeFailure
    // Interrupted: what failed stays not sent.
    if (failedWrites.length === 0 || signal.aborted) return
    const again = failedWrites.sort((a, b) => a.seq - b.seq).flatMap((f) => f.records)
    failedWrites.length = 0
    connection.losses++
    const lostAt = now()
    const attempts = reconnectAttempts
    const unacked = `${again.length} message${again.length === 1 ? '' : 's'} not acknowledged or not written`
    if (attempts === 0) throw new GaveUp(`lost the connection to ${sink.broker} (${unacked}) and --reconnect-attempts is 0`)
    opts.warn?.(`lost the connection to ${sink.broker} (${unacked}): reconnecting with backoff, up to ${attempts} attempt${attempts === 1 ? '' : 's'}`)
    const result = await retryWithBackoff(
      () => sink.write(again),
      {...(opts.reconnectBackoff ?? DEFAULT_BACKOFF), attempts, signal},
      (err) => {
        if (!isTransientSinkError(err)) throw err
        return err as Error
      },
      (attempt, delayMs, err) => opts.warn?.(`attempt ${attempt} of ${attempts}: ${err.message}; next in ${formatMs(delayMs)}`),
    )
    connection.outageMs += now() - lostAt
    if (result.ok) {
      published += again.length
      connection.retried += again.length
      opts.warn?.(`reconnected to ${sink.broker} after ${formatMs(now() - lostAt)}: ${again.length} message${again.length === 1 ? '' : 's'} written again (a subscriber may see some twice); the replay goes on`)
      return
    }
    if (signal.aborted) return
    throw new GaveUp(`gave up reconnecting to ${sink.broker} after ${attempts} attempt${attempts === 1 ? '' : 's'} (${formatMs(now() - lostAt)}): ${result.last?.message ?? 'no attempt'}`)
  }
  // MQTT 3.1.1 has no properties: a capture that carries them says once that they are left out.
  let propertiesUnsent = opts.broker.protocol !== '5'
  const send = async (records: PipelineRecord[], dues?: number[]) => {
    if (writeFailure !== undefined) throw writeFailure
    // Without a client, the write would reconnect by itself (MqttSink.write) and, if that one attempt succeeded,
    // publish this message before older ones still unacknowledged on the lost connection: recover() first waits
    // for those to fail and writes them again before it.
    if (failedWrites.length > 0 || !sink.connected) await recover()
    if (records.length === 0) return
    if (propertiesUnsent && records.some((r) => r.meta.properties)) {
      propertiesUnsent = false
      opts.warn?.('the capture carries MQTT 5 properties, which MQTT 3.1.1 cannot send: they are left out (replay with --mqtt-version 5 to keep them)')
    }
    const t = now()
    // The error either way: a message coalesced into an earlier write leaves up to COALESCE_MS early. A message
    // held back by an outage is sent late, and that lateness is recorded here like any other.
    if (histogram && dues) for (const d of dues) recordMicros(histogram, Math.abs(t - d) * 1000)
    const written = write(records)
    if (mode === 'max' || sink.ordersByHandshake(records) || unconfirmed.size >= MAX_UNCONFIRMED_WRITES) {
      await written
      if (writeFailure !== undefined) throw writeFailure
      if (failedWrites.length > 0) await recover()
      return
    }
    const tracked: Promise<void> = written.then(() => void unconfirmed.delete(tracked))
    unconfirmed.add(tracked)
  }

  const progress = setInterval(() => {
    opts.onProgress?.({
      bytesRead: bytesBefore + (source?.bytesRead ?? 0),
      totalBytes: source?.totalBytes !== undefined && Number.isFinite(loops) ? source.totalBytes * loops : undefined,
      rows,
      published,
      elapsedMs: now() - began,
      loop: pass + 1,
    })
  }, 200)
  progress.unref()

  try {
    await sink.open(ctx)
    for (pass = 0; pass < loops && !signal.aborted; pass++) {
      if (pass > 0) {
        bytesBefore += source?.bytesRead ?? 0
        clock?.nextLoop()
      }
      source = deadLetters ? new DeadLetterFileSource('replay', opts.file) : new CsvSource('replay', csvOptions, process.stdin, 'flags')
      const startMs = opts.start
      const endMs = opts.end
      for await (const batch of source.readBatches(ctx)) {
        const records: PipelineRecord[] = []
        const clock = startClocks()
        for (const d of batch) {
          const r = d.record
          rows++
          firstTs ??= r.ts
          if (startMs !== undefined && r.ts < (typeof startMs === 'number' ? startMs : firstTs + startMs.offsetMs)) {
            skip('before --start')
            continue
          }
          if (endMs !== undefined && r.ts >= (typeof endMs === 'number' ? endMs : firstTs + endMs.offsetMs)) {
            skip('at or after --end')
            continue
          }
          const topic = mapTopic(r.topic ?? '')
          // The reader refuses a row whose own topic no broker takes; --topic-prefix or --topic-map can still make one.
          if (!isTopicName(topic)) {
            skip('no topic')
            continue
          }
          r.topic = topic
          r.meta.topic = topic
          accepted++
          records.push(r)
        }
        if (mode === 'max') await send(records)
        else if (mode === 'rate') {
          let i = 0
          while (i < records.length && !signal.aborted) {
            if (credit === 0) {
              await waitUntil(scheduler!.nextDueAt(), now, signal)
              credit += scheduler!.due().count
              continue
            }
            const n = Math.min(credit, records.length - i)
            const dues: number[] = []
            for (let k = 0; k < n; k++) dues.push(scheduler!.intendedAt(sentIndex + k))
            sentIndex += n
            credit -= n
            await send(records.slice(i, i + n), dues)
            i += n
          }
        } else {
          let group: PipelineRecord[] = []
          let dues: number[] = []
          for (const r of records) {
            if (signal.aborted) break
            const due = clock.dueAt(r.ts)
            if (due > now() + COALESCE_MS) {
              await send(group, dues)
              group = []
              dues = []
              await waitUntil(due, now, signal)
              if (signal.aborted) break
            }
            group.push(r)
            dues.push(due)
          }
          await send(group, dues)
        }
        if (signal.aborted) break
      }
      shape ??= source.shape
      mergeBad(source, badRows, badReasons)
    }
    await recover()
    await sink.flush()
  } catch (error) {
    // Gave up reconnecting: the summary covers the replay until then, and says why it stopped.
    if (!(error instanceof GaveUp)) throw error
    gaveUp = error.message
    await Promise.all(unconfirmed)
  } finally {
    clearInterval(progress)
    opts.signal?.removeEventListener('abort', onUserAbort)
    await source?.close()
    await sink.close()
  }
  for (const [k, v] of Object.entries(badReasons)) skippedReasons[k] = (skippedReasons[k] ?? 0) + v
  const durationMs = now() - began
  const timing = histogram && histogram.totalCount > 0 ? summarize(histogram) : undefined
  histogram?.destroy()
  const skipped = Object.values(skippedReasons).reduce((a, b) => a + b, 0)
  return {
    schemaVersion: 1,
    file: opts.file,
    broker: sink.broker,
    shape,
    mode,
    speed: mode === 'timed' ? speed : undefined,
    rate: opts.rate,
    loops: Math.min(pass, loops),
    rows: rows + Object.values(badReasons).reduce((a, b) => a + b, 0),
    published,
    skipped,
    skippedReasons,
    notSent: accepted - published,
    badRows,
    outOfOrder: clock?.outOfOrder ?? 0,
    connection,
    error: gaveUp,
    timing: timing ? {count: timing.count, p50: timing.p50, p99: timing.p99, max: timing.max} : undefined,
    durationMs,
    achievedRate: durationMs > 0 ? (published * 1000) / durationMs : 0,
    interrupted: userInterrupted,
  }
}

class GaveUp extends Error {}

function mergeBad(source: CsvSource | DeadLetterFileSource, rows: BadRow[], reasons: Record<string, number>): void {
  for (const r of source.stats.badRows) if (rows.length < 20) rows.push(r)
  for (const [k, v] of Object.entries(source.stats.badReasons)) reasons[k] = (reasons[k] ?? 0) + v
}

/**
 * `--topic-map from=to` (first match wins): `from` matches the topic itself or any topic below it (`plant` maps
 * `plant/a/b` to `<to>/a/b`); a trailing `/#` means the same. Then `--topic-prefix` goes in front.
 */
export function topicMapper(mappings: readonly TopicMapping[], prefix: string): (topic: string) => string {
  const rules = mappings.map((m) => ({from: m.from.replace(/\/#$/, ''), to: m.to.replace(/\/#$/, '')}))
  if (rules.length === 0 && !prefix) return (t) => t
  return (topic) => {
    let t = topic
    for (const r of rules) {
      if (t === r.from) {
        t = r.to
        break
      }
      if (t.startsWith(`${r.from}/`)) {
        t = r.to + t.slice(r.from.length)
        break
      }
    }
    return prefix + t
  }
}

/** Parses `from=to`. */
export function parseTopicMapping(text: string): TopicMapping {
  const i = text.indexOf('=')
  if (i <= 0 || i === text.length - 1) throw new Error(`"${text}" is not a topic mapping (from=to, e.g. plant/line1=test/line1)`)
  return {from: text.slice(0, i), to: text.slice(i + 1)}
}
