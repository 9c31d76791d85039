/**
 * The pipeline runtime: sources -> rules (+ windows) -> sinks, in one process.
 *
 * - Backpressure: each sink has a bounded queue; after every source batch the runtime waits while any sink queue
 *   with the `block` policy is full, so a slow sink pauses the sources (an MQTT source stops reading its socket).
 *   A queue can exceed its bound by at most the rows of one source batch.
 * - With a state store (`state:`, on by default for `pipeline run`): a message of a live source is acknowledged
 *   once it is in the input log (one group commit per source batch), never held until a window fires. Windows,
 *   stateful-function state, watermarks and finite-source positions are checkpointed every `state.interval` and
 *   at shutdown; a checkpoint is committed once every sink has settled the rows made before it, and a restart is
 *   the last checkpoint plus a replay of the input log after it (pipeline/state).
 * - Without one: a message is acknowledged (Delivery.ack) only when every sink has accepted, or dead-lettered,
 *   every row derived from it; events held in open windows are acknowledged when their window fires (AckTracker).
 * - Shutdown: end of every (finite) source flushes all windows and drains the sinks; Ctrl-C, --duration or an
 *   abort stops the sources, then flushes (or drops, `shutdown.openWindows: drop`) open windows and drains the
 *   sinks, bounded by `shutdown.timeout`. The summary says what happened either way.
 */
import {performance} from 'node:perf_hooks'
import {getPath} from './paths.js'
import type {LoadedPipeline, LoadedRule} from '../config/load.js'
import type {SinkEntry} from '../config/schema.js'
import {decodePayload} from '../records.js'
import {eventTimeReader, IMPLAUSIBLY_OLD_MS} from '../event-time.js'
import {closestName} from '../../config/did-you-mean.js'
import {formatDuration} from '../../config/units.js'
import type {RecordMetaView} from '../rule/index.js'
import {fingerprintPipeline} from '../state/fingerprint.js'
import type {RunStateOptions} from '../state/index.js'
import {CHECKPOINT_VERSION, StateStore, encodeCheckpoint, type Checkpoint} from '../state/store.js'
import {arrivalNow, NOOP_ACK, type DeadLetterEntry, type Delivery, type PipelineRecord, type Sink, type Source, type StageContext} from '../types.js'
import {AckTracker, holdAll, releaseAll} from './ack-tracker.js'
import {DeadLetter} from './dead-letter.js'
import {compileMap, type MapStep} from '../rule/map-step.js'
import {RuleRunner, type OutputRow, type RuleCounters} from './rule-runner.js'
import {SinkRunner, sinkBatching, type SinkCounters} from './sink-runner.js'
import {watchTables, type TableCounters} from './table-reload.js'

export interface SourceInstance {
  name: string
  type: string
  source: Source
  finite: boolean
  /** Payload field with the event time; undefined = the record's own ts (arrival time for live sources). */
  timestampField?: string
  /** Its format (event-time.ts); undefined: numbers are epoch ms, text ISO-8601. */
  timestampFormat?: string
  /** Live sources: events whose time is further ahead of the clock are dead-lettered and counted here. */
  maxFutureSkewMs?: number
  keyField?: string
  /** Finite and read again identically: a restart skips what the checkpoint says was taken (no input log). */
  resumable?: boolean
  /** Live event-time sources: quiet this long, they stop holding event time back (see RuleSlot.idle). */
  idleTimeoutMs?: number
}

export interface RunPipelineOptions {
  pipeline: LoadedPipeline
  /** Replaces the configured sources (tests, `pipeline test`). */
  sources?: SourceInstance[]
  /** Replaces the configured sinks of every rule (tests, `pipeline test`). */
  sinksFor?: (rule: LoadedRule) => {sink: Sink; type: string}[]
  /** Stop after this long (a normal end: exit 0). */
  durationMs?: number
  /** Ctrl-C / SIGTERM. */
  signal?: AbortSignal
  /** Overrides `deadLetter:` of the file; null: count only (tests). */
  deadLetterFile?: string | null
  /** Sees every dead-letter entry as it is written (pipeline test assertions). */
  onDeadLetter?: (entry: DeadLetterEntry) => void
  /** false: the sources' end is not the end of the input (open windows are neither flushed nor acknowledged). */
  endOfInput?: boolean
  /** Overrides `shutdown.openWindows` of the file. */
  openWindows?: 'flush' | 'drop'
  warn?: (message: string) => void
  /** Called about once a second with the counters so far (live view / plain progress lines). */
  onProgress?: (summary: PipelineSummary) => void
  progressIntervalMs?: number
  env?: Readonly<Record<string, string | undefined>>
  /** Checkpointed state and the input log; undefined: none (acks wait for the sinks, windows start empty). */
  state?: RunStateOptions
  /**
   * `pipeline test`'s `advance:`: receives a function that moves event time on by `ms` without an event, from the
   * latest event time seen (or the last advance): every rule's watermark goes there (minus its lateTolerance) and the
   * windows that end before it fire. It returns the new time.
   */
  onAdvance?: (advance: (ms: number) => number) => void
  /** false: tables are read once (pipeline test); by default a changed table file is read again while running. */
  reloadTables?: boolean
  /** Receives a function that returns the counters so far (a second Ctrl-C prints them and exits at once). */
  onSummary?: (current: () => PipelineSummary) => void
}

export interface StateCounters {
  dir: string
  /** When the checkpoint this run started from was taken (ISO), if any. */
  restoredFrom?: string
  /** Logged source records replayed on top of it at the start: the sum of the sources' `replayed`. */
  replayed: number
  /** Deliveries of resumable sources skipped at the start (already taken by the interrupted run). */
  skipped: number
  /** Broker redeliveries (DUP) of messages already in the input log, acknowledged without being taken again. */
  redeliveriesSkipped: number
  checkpoints: number
  lastCheckpointMs?: number
  lastCheckpointBytes?: number
  /** Source batches and bytes written to the input log by this run. */
  loggedBatches: number
  loggedBytes: number
  /** What the state directory holds after the run: `checkpoint` (resume from it), `cleared` (run complete), `log` (last checkpoint + log). */
  atExit?: 'checkpoint' | 'cleared' | 'log'
}

export interface SourceCounters {
  name: string
  type: string
  records: number
  /** Every dead-letter entry of the source: undecodable, no event time, or ahead of the clock. */
  deadLettered: number
  /** Of those: event time further ahead of the clock than the source's timestamp.maxFutureSkew. */
  futureRejected: number
  /** Records an earlier run logged and this one replayed from the input log (not in `records`, which this run read). */
  replayed?: number
  ended: boolean
}

export interface PipelineSummary {
  schemaVersion: 1
  pipeline: string
  /** How the run ended. */
  stoppedBy: 'end-of-input' | 'duration' | 'interrupt' | 'error'
  interrupted: boolean
  error?: string
  elapsedMs: number
  eventsIn: number
  eventsPerSecond: number
  sources: SourceCounters[]
  rules: (RuleCounters & {name: string; mapDropped: number})[]
  sinks: SinkCounters[]
  deadLetter: {file?: string; count: number; byStage: Record<string, number>}
  /** Open windows discarded at shutdown (openWindows: drop), rows abandoned at the shutdown timeout. */
  droppedAtShutdown: {openWindows: number; queuedRows: number}
  /** Lookup tables: rows now, and how often a changed file was read again or could not be (previous rows kept). */
  tables?: TableCounters[]
  state?: StateCounters
}

interface RuleSlot {
  loaded: LoadedRule
  runner: RuleRunner
  sinks: SinkRunner[]
  map?: MapStep
  mapDropped: number
  processingTime: boolean
  /** The rule's event time advances when all of these sources have been quiet for afterMs (their idleTimeout). */
  idle?: {sources: string[]; afterMs: number}
  /** The rule's watermark after its latest event, and when (wall clock) that event arrived. */
  lastWatermark: number
  lastEventAt: number
}

export async function runPipeline(opts: RunPipelineOptions): Promise<PipelineSummary> {
  const {pipeline} = opts
  const started = performance.now()
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`${m}\n`))
  const env = {baseDir: pipeline.baseDir, env: opts.env ?? process.env}
  const stop = new AbortController()
  const giveUp = new AbortController()
  const deadLetterFile = opts.deadLetterFile === null ? undefined : (opts.deadLetterFile ?? (pipeline.config.deadLetter ? resolvePath(pipeline.baseDir, pipeline.config.deadLetter) : undefined))
  const deadLetter = new DeadLetter(deadLetterFile, warn, opts.state?.fsync)
  const sourceCounters = new Map<string, SourceCounters>()
  const ctx: StageContext = {
    signal: stop.signal,
    deadLetter(entry: DeadLetterEntry) {
      deadLetter.write(entry)
      opts.onDeadLetter?.(entry)
      const m = /^source:(.*)$/.exec(entry.stage)
      const c = m ? sourceCounters.get(m[1]) : undefined
      if (c) c.deadLettered++
    },
    warn,
  }

  const sources: SourceInstance[] =
    opts.sources ??
    pipeline.sources.map((s) => ({
      name: s.name,
      type: s.spec.type,
      source: s.spec.create(s.options, s.name, env),
      finite: s.spec.finite === true,
      timestampField: s.entry.timestamp?.field,
      timestampFormat: s.entry.timestamp?.format,
      maxFutureSkewMs: s.entry.timestamp?.maxFutureSkew,
      keyField: s.entry.key,
      resumable: s.spec.finite === true && (typeof s.spec.resumable === 'function' ? s.spec.resumable(s.options) : s.spec.resumable === true),
      idleTimeoutMs: s.entry.idleTimeout,
    }))
  for (const s of sources) sourceCounters.set(s.name, {name: s.name, type: s.type, records: 0, deadLettered: 0, futureRejected: 0, ended: false})
  const liveTimed = sources.some((s) => !s.finite && s.timestampField)

  const slots: RuleSlot[] = pipeline.rules.map((loaded) => {
    const runner: RuleRunner = new RuleRunner({
      name: loaded.name,
      plan: loaded.plan,
      tables: pipeline.tables,
      lateToleranceMs: loaded.config.lateTolerance,
      offsetMs: loaded.config.offset,
      futureSkew: liveTimed ? {now: Date.now, maxFutureSkewMs: loaded.config.maxFutureSkew} : undefined,
      onRelease: releaseAll,
      reject: loaded.reject,
      sendNil: loaded.config.sendNil,
      onReject: (record) => ctx.deadLetter({stage: `rule:${loaded.name}`, reason: `rejected: ${loaded.config.reject ?? ''}`, record, at: Date.now()}),
      onDropped(record, why) {
        if (why === 'future') {
          ctx.deadLetter({stage: `rule:${loaded.name}`, reason: `event time ${new Date(record.ts).toISOString()} is more than maxFutureSkew ahead of the clock`, record, at: Date.now()})
        } else if (loaded.config.late === 'deadLetter') {
          ctx.deadLetter({stage: `rule:${loaded.name}`, reason: 'late: every window of the event had fired', record, at: Date.now()})
        }
      },
    })
    // Replaced sinks (tests) keep the batching, retry and queue settings of the sink they stand in for.
    const made = opts.sinksFor
      ? opts.sinksFor(loaded).map((m, i) => ({...m, entry: loaded.sinks[i]?.entry, spec: undefined}))
      : loaded.sinks.map((s) => ({sink: s.spec.create(s.options, s.name, {...env, integerColumns: loaded.plan.analysis.integerColumns}), type: s.spec.type, entry: s.entry, spec: s.spec}))
    const sinks = made.map((m) => {
      const e = m.entry
      const batching = sinkBatching(e?.batch, m.spec?.batch)
      return new SinkRunner(
        m.sink,
        m.type,
        loaded.name,
        {
          batchCount: batching.count,
          batchIntervalMs: batching.intervalMs,
          ...retrySettings(e?.retry),
          queue: Math.max(e?.queue ?? 1024, 1),
          overflow: e?.overflow ?? 'block',
        },
        ctx,
        giveUp.signal,
      )
    })
    // Processing time: the rule reads a live source without an event-time field, so a timer moves its watermark.
    const src = loaded.plan.source
    const reads = sources.filter((s) => src.kind === 'topic' || s.name === src.name)
    const processingTime = reads.some((s) => !s.finite && !s.timestampField)
    // Idle sources (idleTimeout on every live event-time source the rule reads): event time moves on without events.
    const timed = reads.filter((s) => !s.finite && s.timestampField)
    const idle = !processingTime && timed.length > 0 && timed.every((s) => s.idleTimeoutMs !== undefined) ? {sources: timed.map((s) => s.name), afterMs: Math.max(...timed.map((s) => s.idleTimeoutMs!))} : undefined
    return {loaded, runner, sinks, map: loaded.config.map ? compileMap(loaded.config.map) : undefined, mapDropped: 0, processingTime, idle, lastWatermark: -Infinity, lastEventAt: 0}
  })

  let eventsIn = 0
  const out: OutputRow[] = []
  let pendingAsync: Promise<void>[] = []

  const dispatch = (slot: RuleSlot, rows: OutputRow[], arrivedAt: number): void => {
    const n = slot.sinks.length
    const windowed = slot.runner.windowed
    for (const row of rows) {
      const record: PipelineRecord = {ts: row.ts, topic: row.topic, fields: row.fields, meta: {source: slot.loaded.name, topic: row.topic}}
      holdAll(row.acks, n)
      for (const s of slot.sinks) s.offer(record, row.acks, arrivedAt)
      // Window rows also end the window's own hold on their events.
      if (windowed) releaseAll(row.acks)
    }
  }

  /** Without `arrivedAtOrNow`, rows arrived now: the clock is read only when there are rows (per event it costs more than a simple rule). */
  const emit = (slot: RuleSlot, arrivedAtOrNow?: number): void => {
    if (out.length === 0) return
    const arrivedAt = arrivedAtOrNow ?? arrivalNow()
    if (!slot.map) {
      dispatch(slot, out, arrivedAt)
      out.length = 0
      return
    }
    const rows = out.splice(0, out.length)
    const map = slot.map
    // The map decides asynchronously: hold each row's events until it has (and the sinks have them).
    for (const row of rows) holdAll(row.acks, 1)
    pendingAsync.push(
      (async () => {
        const kept: OutputRow[] = []
        const dropped: OutputRow[] = []
        for (const row of rows) {
          const r = await map(row.fields)
          if (r.ok && r.row) {
            kept.push({...row, fields: r.row})
            continue
          }
          if (!r.ok) ctx.deadLetter({stage: `rule:${slot.loaded.name}`, reason: r.reason, record: {ts: row.ts, topic: row.topic, fields: row.fields, meta: {source: slot.loaded.name}}, at: Date.now()})
          else slot.mapDropped++
          dropped.push(row)
        }
        dispatch(slot, kept, arrivedAt)
        for (const row of dropped) if (slot.runner.windowed) releaseAll(row.acks)
        for (const row of rows) releaseAll(row.acks)
      })(),
    )
  }

  /** The latest event time ingested (or advanced to), for onAdvance. */
  let latestTs = -Infinity
  opts.onAdvance?.((ms) => {
    latestTs = (Number.isFinite(latestTs) ? latestTs : 0) + ms
    for (const slot of slots) {
      slot.runner.advanceTo(latestTs - slot.loaded.config.lateTolerance, out)
      emit(slot)
    }
    return latestTs
  })
  const byName = new Map(sources.map((s) => [s.name, s]))
  const timeReaders = new Map(sources.map((s) => [s.name, eventTimeReader(s.timestampFormat)]))
  /** Sources already warned about, so a problem of every message is said once. */
  const warnedTime = new Set<string>()
  /**
   * The record's event time from its source's timestamp field, or undefined after dead-lettering it (and counting
   * it). A live source whose time looks decades old, or whose field is missing, is also warned about once.
   */
  const eventTime = (src: SourceInstance, rec: PipelineRecord): number | undefined => {
    const field = src.timestampField!
    const raw = getPath(rec.fields, field)
    const ts = timeReaders.get(src.name)!(raw)
    const stage = `source:${src.name}`
    if (ts === undefined) {
      const missing = raw === undefined || raw === null
      const as = src.timestampFormat ? `in format ${src.timestampFormat}` : '(epoch ms or ISO-8601)'
      ctx.deadLetter({stage, reason: missing ? `no event time: field "${field}" is missing` : `no event time: field "${field}" = ${JSON.stringify(raw)} is not a time ${as}`, record: rec, at: Date.now()})
      if (missing && !src.finite && !warnedTime.has(src.name) && rec.fields !== null && typeof rec.fields === 'object') {
        warnedTime.add(src.name)
        const has = Object.keys(rec.fields)
        const hint = closestName(field, has)
        warn(`source ${src.name}: the payload has no field "${field}" (timestamp.field)${hint ? `; did you mean "${hint}"?` : ''} (it has ${has.slice(0, 10).join(', ')}); such messages go to the dead letter`)
      }
      return undefined
    }
    if (!src.finite) {
      const now = Date.now()
      if (src.maxFutureSkewMs !== undefined && ts - now > src.maxFutureSkewMs) {
        sourceCounters.get(src.name)!.futureRejected++
        ctx.deadLetter({stage, reason: `event time ${new Date(ts).toISOString()} is more than maxFutureSkew (${formatDuration(src.maxFutureSkewMs)}) ahead of the clock`, record: rec, at: now})
        return undefined
      }
      if (src.timestampFormat === undefined && now - ts > IMPLAUSIBLY_OLD_MS && !warnedTime.has(src.name)) {
        warnedTime.add(src.name)
        const years = Math.floor((now - ts) / (365.25 * 24 * 3600 * 1000))
        warn(`source ${src.name}: event time ${new Date(ts).toISOString()} (field ${field} = ${JSON.stringify(raw)}, read as epoch ms) is ${years} years behind the clock; if the devices send seconds, write timestamp: {field: ${field}, format: epoch-s}`)
      }
    }
    return ts
  }
  /** `logged`: the batch is in the input log and acknowledged already, so nothing holds its acks. */
  const ingest = (from: SourceInstance, batch: readonly Delivery[], logged = false): void => {
    for (const d of batch) {
      const rec = d.record
      // Event-time and key fields are those of the record's own source (a test feeds several through one).
      const src = rec.meta.source === from.name ? from : (byName.get(rec.meta.source) ?? from)
      eventsIn++
      // Sources that hand over bytes only (a capture replay, raw MQTT) get JSON decoded here, once for all rules.
      if (rec.fields === undefined && rec.payload !== undefined) {
        const decoded = decodePayload(rec.payload)
        if (!decoded.ok) {
          ctx.deadLetter({stage: `source:${src.name}`, reason: decoded.reason, record: rec, at: Date.now()})
          if (!logged) d.ack()
          continue
        }
        rec.fields = decoded.fields
      }
      if (src.timestampField !== undefined) {
        const ts = eventTime(src, rec)
        if (ts === undefined) {
          if (!logged) d.ack()
          continue
        }
        rec.ts = ts
      }
      if (rec.ts > latestTs) latestTs = rec.ts
      if (src.keyField !== undefined && rec.key === undefined) {
        const k = getPath(rec.fields, src.keyField)
        if (k !== undefined && k !== null) rec.key = String(k)
      }
      const tracker = logged || d.ack === NOOP_ACK ? undefined : new AckTracker(d.ack)
      const m = rec.meta
      const meta: RecordMetaView = {topic: rec.topic ?? m.topic, qos: m.qos, retain: m.retain, clientid: m.clientid, timestamp: rec.ts, messageid: m.messageid}
      const arrivedAt = m.arrivedAt
      for (const slot of slots) {
        if (!slot.runner.matches(rec)) continue
        const held = slot.runner.process(rec, meta, tracker, out)
        if (held && tracker) tracker.hold()
        if (slot.idle) {
          slot.lastWatermark = slot.runner.watermark
          slot.lastEventAt = Date.now()
        }
        emit(slot, slot.runner.windowed ? undefined : arrivedAt)
      }
      tracker?.release()
    }
  }

  const settle = async (): Promise<void> => {
    if (pendingAsync.length > 0) {
      const p = pendingAsync
      pendingAsync = []
      await Promise.all(p)
    }
    for (const slot of slots) for (const s of slot.sinks) if (s.full) await s.space()
  }

  // The state store first: a changed rule or a state directory in use refuses the run before anything connects.
  const store = opts.state
    ? new StateStore({dir: opts.state.dir, fsync: opts.state.fsync, reset: opts.state.reset, pipelineName: pipeline.name, fingerprints: fingerprintPipeline(pipeline, sources)})
    : undefined
  // Sinks keep what an earlier run wrote once its checkpoint forgot the input behind it (a file sink appends).
  if (store?.checkpoint) ctx.resuming = true
  const stateCounters: StateCounters | undefined = store ? {dir: store.dir, replayed: 0, skipped: 0, redeliveriesSkipped: 0, checkpoints: 0, loggedBatches: 0, loggedBytes: 0} : undefined
  /** Finite resumable sources: deliveries taken so far, counting those an earlier run took. */
  const positions = new Map<string, number>()
  /**
   * Per live source, the last logged payload of each MQTT packet id. A process killed right after logging a batch
   * can die before its PUBACKs leave (a socket closed with unread input is reset, and its send buffer with it): the
   * broker then sends those messages again with the DUP flag and the same packet ids. Such a redelivery is already
   * in the log and is acknowledged without being taken twice; each id is looked at once, by its next delivery.
   */
  const redelivery = new Map<string, Map<number, Buffer>>()

  const tableReloads = opts.reloadTables !== false && pipeline.tables.size > 0 ? watchTables(pipeline, warn) : undefined

  // Open sinks before reading anything: a database that is not there fails the run before it consumes input.
  let error: string | undefined
  try {
    for (const slot of slots) for (const s of slot.sinks) await s.open()
  } catch (e) {
    error = (e as Error).message
  }

  // Restart: the last checkpoint, then the logged input after it, through the same ingest as live input.
  if (store && !error) {
    const cp = store.checkpoint
    if (cp) {
      stateCounters!.restoredFrom = new Date(cp.createdAt).toISOString()
      for (const slot of slots) {
        const saved = cp.rules[slot.loaded.name]
        if (saved !== undefined) slot.runner.restore(saved as Parameters<RuleRunner['restore']>[0])
      }
      for (const [name, n] of Object.entries(cp.positions)) positions.set(name, n)
      for (const [name, start] of Object.entries(cp.starts ?? {})) if (start !== undefined) byName.get(name)?.source.resumeStart?.(start)
    }
    const torn = {torn: 0}
    for (const logged of store.replay(torn)) {
      const src = byName.get(logged.source)
      if (!src) continue
      let ids = redelivery.get(src.name)
      for (const r of logged.records) {
        if (r.meta.messageid === undefined || r.payload === undefined) continue
        if (!ids) redelivery.set(src.name, (ids = new Map()))
        ids.set(r.meta.messageid, r.payload)
      }
      // They arrive now, from the log: their arrival in the earlier run would count the downtime as sink latency.
      const now = arrivalNow()
      for (const r of logged.records) r.meta.arrivedAt = now
      ingest(src, logged.records.map((record) => ({record, ack: NOOP_ACK})), true)
      const counters = sourceCounters.get(src.name)!
      counters.replayed = (counters.replayed ?? 0) + logged.records.length
      await settle()
    }
    if (torn.torn > 0) warn(`state: the input log in ${store.dir} ended in ${torn.torn} partly written frame(s) (a crash while writing); they were never acknowledged, so their sources send them again`)
  }

  let checkpointing: Promise<void> | undefined
  /**
   * Takes a checkpoint now (synchronously: between two source batches nothing is half-processed) and commits it once
   * every sink has settled the rows offered before it. The log rotates, so the commit can delete what it covers.
   */
  const takeCheckpoint = async (): Promise<void> => {
    if (!store) return
    while (pendingAsync.length > 0) {
      const p = pendingAsync
      pendingAsync = []
      await Promise.all(p)
    }
    const rules: Record<string, unknown> = {}
    for (const slot of slots) rules[slot.loaded.name] = slot.runner.snapshot()
    const replayFrom = store.log.rotate()
    const starts = Object.fromEntries(sources.filter((s) => s.source.startState).map((s) => [s.name, s.source.startState!()]))
    const cp: Checkpoint = {version: CHECKPOINT_VERSION, pipeline: pipeline.name, fingerprints: fingerprintPipeline(pipeline, sources), createdAt: Date.now(), replayFrom, positions: Object.fromEntries(positions), starts, rules}
    // Serialized now: the live state goes on changing while the sinks catch up.
    const body = encodeCheckpoint(cp)
    const marks = slots.flatMap((slot) => slot.sinks.map((s) => [s, s.offered] as const))
    await Promise.all(marks.map(([s, n]) => s.settledTo(n)))
    await store.commit(body, replayFrom)
    stateCounters!.checkpoints = store.checkpoints
    stateCounters!.lastCheckpointMs = store.lastCheckpoint?.ms
    stateCounters!.lastCheckpointBytes = store.lastCheckpoint?.bytes
  }
  const checkpointTimer =
    store && !error
      ? setInterval(() => {
          if (checkpointing) return
          checkpointing = takeCheckpoint()
            .catch((e: Error) => warn(`state: checkpoint failed: ${e.message}`))
            .finally(() => (checkpointing = undefined))
        }, opts.state!.intervalMs)
      : undefined

  let stoppedBy: PipelineSummary['stoppedBy'] = 'end-of-input'
  const onAbort = () => {
    if (stoppedBy === 'end-of-input') stoppedBy = 'interrupt'
    stop.abort()
  }
  opts.signal?.addEventListener('abort', onAbort, {once: true})
  const durationTimer =
    opts.durationMs !== undefined
      ? setTimeout(() => {
          stoppedBy = 'duration'
          stop.abort()
        }, opts.durationMs)
      : undefined
  /** When each source last handed over a batch (wall clock), for idleTimeout. */
  const lastArrival = new Map<string, number>()
  const tick =
    slots.some((s) => (s.processingTime || s.idle) && s.runner.windowed) && !error
      ? setInterval(() => {
          const now = Date.now()
          for (const slot of slots) {
            if (slot.processingTime) {
              slot.runner.advanceTo(now - slot.loaded.config.lateTolerance, out)
              emit(slot, now)
            } else if (slot.idle && Number.isFinite(slot.lastWatermark)) {
              // Every source quiet for its idleTimeout: event time goes on at the wall clock's pace from the last
              // event (Flink's withIdleness, with time moving on), so the last windows close and silences show.
              const quiet = slot.idle.sources.every((name) => now - (lastArrival.get(name) ?? 0) >= slot.idle!.afterMs)
              if (!quiet) continue
              slot.runner.advanceTo(slot.lastWatermark + (now - slot.lastEventAt), out)
              emit(slot, now)
            }
          }
        }, 100)
      : undefined
  const summarize = (): PipelineSummary => {
    const elapsedMs = performance.now() - started
    const sourceStats = [...sourceCounters.values()]
    return {
      schemaVersion: 1,
      pipeline: pipeline.name,
      stoppedBy,
      interrupted: stoppedBy === 'interrupt',
      error,
      elapsedMs,
      eventsIn,
      eventsPerSecond: elapsedMs > 0 ? (eventsIn * 1000) / elapsedMs : 0,
      sources: sourceStats.map((c) => ({...c})),
      rules: slots.map((s) => ({name: s.loaded.name, ...s.runner.stats(), mapDropped: s.mapDropped})),
      sinks: slots.flatMap((s) => s.sinks.map((r) => r.stats())),
      deadLetter: {file: deadLetter.file, count: deadLetter.count, byStage: Object.fromEntries(deadLetter.byStage)},
      droppedAtShutdown,
      ...(tableReloads ? {tables: tableReloads.counters()} : {}),
      ...(stateCounters ? {state: {...stateCounters, replayed: sourceStats.reduce((sum, c) => sum + (c.replayed ?? 0), 0)}} : {}),
    }
  }
  const droppedAtShutdown = {openWindows: 0, queuedRows: 0}
  opts.onSummary?.(() => {
    const s = summarize()
    // Not drained: what the sinks still hold is given up with the process (not acknowledged).
    for (const k of s.sinks) s.droppedAtShutdown.queuedRows += k.queued
    return s
  })
  const progress = opts.onProgress ? setInterval(() => opts.onProgress?.(summarize()), opts.progressIntervalMs ?? 1000) : undefined

  if (!error && opts.signal?.aborted) onAbort()
  if (!error) {
    const pumps = sources.map(async (src) => {
      const counters = sourceCounters.get(src.name)!
      const iter = src.source.readBatches ? src.source.readBatches(ctx) : batchesOf(src.source.read(ctx))
      // With a state store: sources that cannot be read again (live ones, stdin from a pipe) go through the input
      // log; resumable ones skip what was taken.
      const logged = store !== undefined && src.resumable !== true
      const resumable = store !== undefined && src.resumable === true
      let skip = resumable ? (positions.get(src.name) ?? 0) : 0
      for await (const whole of iter) {
        // Stopped: what a source hands over now is not processed (and not acknowledged: an acking source redelivers).
        if (stop.signal.aborted) break
        let batch = whole
        if (skip > 0) {
          const n = Math.min(skip, batch.length)
          skip -= n
          stateCounters!.skipped += n
          if (n === batch.length) continue
          batch = batch.slice(n)
        }
        const ids = logged ? redelivery.get(src.name) : undefined
        if (ids !== undefined && ids.size > 0) {
          batch = batch.filter((d) => {
            const m = d.record.meta
            const prev = m.messageid === undefined ? undefined : ids.get(m.messageid)
            if (prev === undefined) return true
            ids.delete(m.messageid!)
            if (!m.dup || d.record.payload === undefined || !prev.equals(d.record.payload)) return true
            d.ack()
            stateCounters!.redeliveriesSkipped++
            return false
          })
          if (batch.length === 0) continue
        }
        counters.records += batch.length
        lastArrival.set(src.name, Date.now())
        if (logged) {
          store.log.append(src.name, batch.map((d) => d.record))
          stateCounters!.loggedBatches = store.log.frames
          stateCounters!.loggedBytes = store.log.bytes
          for (const d of batch) d.ack()
        }
        ingest(src, batch, logged)
        if (resumable) positions.set(src.name, (positions.get(src.name) ?? 0) + batch.length)
        await settle()
        if (stop.signal.aborted) break
      }
      counters.ended = true
    })
    const results = await Promise.allSettled(pumps)
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) {
      error = (failed.reason as Error)?.message ?? String(failed.reason)
      stoppedBy = 'error'
      stop.abort()
    }
  }
  if (tick) clearInterval(tick)
  if (durationTimer) clearTimeout(durationTimer)
  if (checkpointTimer) clearInterval(checkpointTimer)
  opts.signal?.removeEventListener('abort', onAbort)

  // The last checkpoint is taken before open windows are flushed or dropped: a restart goes on filling them.
  const complete = stoppedBy === 'end-of-input' && opts.endOfInput !== false && sources.every((s) => s.finite)
  const finalCheckpoint = store && !error && !complete ? takeCheckpoint() : undefined
  finalCheckpoint?.catch(() => undefined)

  // End of input always flushes; a stop flushes unless told to drop (then held events stay unacknowledged, so an
  // acking source delivers them again next time).
  const flush =
    stoppedBy === 'end-of-input' ? opts.endOfInput !== false : (opts.openWindows ?? pipeline.config.shutdown.openWindows) === 'flush'
  for (const slot of slots) {
    if (flush && stoppedBy !== 'error') {
      slot.runner.end(out)
      emit(slot, Date.now())
    } else {
      droppedAtShutdown.openWindows += slot.runner.stats().openWindows
    }
  }
  const drain = (async () => {
    await settle().catch(() => undefined)
    await Promise.all(slots.flatMap((s) => s.sinks.map((r) => r.drain())))
  })()
  const timeoutMs = stoppedBy === 'end-of-input' ? Infinity : pipeline.config.shutdown.timeout
  let timer: NodeJS.Timeout | undefined
  const timedOut = await Promise.race([
    drain.then(() => false),
    new Promise<boolean>((ok) => {
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => ok(true), timeoutMs)
    }),
  ]).catch((e: Error) => {
    error ??= e.message
    return false
  })
  if (timer) clearTimeout(timer)
  if (timedOut) {
    giveUp.abort()
    // A sink failing when time ran out (a full disk, a peer that is down) fails the run: its rows are not written.
    const failing = slots.flatMap((slot) => slot.sinks.map((s) => s.stats())).find((k) => k.retrying === true && k.lastError !== undefined)
    for (const slot of slots) for (const s of slot.sinks) droppedAtShutdown.queuedRows += s.abandon()
    warn(`shutdown: sinks did not drain within ${pipeline.config.shutdown.timeout} ms; ${droppedAtShutdown.queuedRows} queued rows were not written (and not acknowledged)`)
    if (failing) {
      error ??= `sink ${failing.name} (${failing.type}) was still failing at the shutdown timeout: ${failing.lastError}; ${droppedAtShutdown.queuedRows.toLocaleString('en-US')} rows not written (not acknowledged: the next run writes them)`
    }
    // Writes in flight were given up (giveUp); what is left is bounded, so a peer that went silent cannot hold the exit.
    await within(drain.catch(() => undefined), AFTER_TIMEOUT_MS)
  }
  if (store) {
    try {
      if (complete && !timedOut && !error) {
        await store.clear()
        stateCounters!.atExit = 'cleared'
      } else if (finalCheckpoint && !timedOut) {
        await finalCheckpoint
        stateCounters!.atExit = 'checkpoint'
      } else stateCounters!.atExit = 'log'
    } catch (e) {
      warn(`state: the final checkpoint failed (${(e as Error).message}); a restart resumes from the previous one and the input log`)
      stateCounters!.atExit = 'log'
    } finally {
      await store.close()
    }
  }
  if (progress) clearInterval(progress)
  // Closing is bounded after a timed-out drain too (a client ending politely waits for a peer that may be gone).
  const closeBound = timedOut || stoppedBy !== 'end-of-input' ? AFTER_TIMEOUT_MS : Infinity
  await within(
    Promise.all([
      ...slots.flatMap((slot) => slot.sinks.map((s) => s.close().catch((e: Error) => warn(`sink ${s.sink.name}: close failed: ${e.message}`)))),
      ...sources.map((s) => s.source.close().catch(() => undefined)),
    ]),
    closeBound,
  )
  await deadLetter.close()
  tableReloads?.close()
  return summarize()
}

/** How long closing may take once the shutdown timeout has passed (or after a stop): the exit stays within timeout + this. */
const AFTER_TIMEOUT_MS = 400

/** Waits for `p`, at most `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  if (!Number.isFinite(ms)) {
    await p
    return
  }
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p, new Promise<void>((ok) => (timer = setTimeout(ok, ms)))])
  clearTimeout(timer)
}

/** `retry:` of a sink entry -> SinkSettings (forever unless a number of attempts is given). */
export function retrySettings(retry: SinkEntry['retry']): {retryAttempts: number; retryInitialMs: number; retryMaxMs: number} {
  const r = retry === 'forever' || retry === undefined ? undefined : retry
  const attempts = r?.attempts ?? 'forever'
  return {retryAttempts: attempts === 'forever' ? Infinity : attempts, retryInitialMs: r?.initial ?? 200, retryMaxMs: r?.max ?? 10_000}
}

async function* batchesOf(deliveries: AsyncIterable<Delivery>): AsyncIterable<readonly Delivery[]> {
  for await (const d of deliveries) yield [d]
}

function resolvePath(base: string, p: string): string {
  return p.startsWith('/') ? p : `${base}/${p}`
}
