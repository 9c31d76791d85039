import {createWriteStream, type WriteStream} from 'node:fs'
import {once} from 'node:events'
import {isAbsolute, relative} from 'node:path'
import {performance} from 'node:perf_hooks'
import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import type {Scenario} from './scenario/index.js'
import {scenarioFingerprint} from './scenario/fingerprint.js'
import type {AnomalyLabel, DeviceSpec} from './types.js'
import {SimulatedModbusStreams, SimulatedStreams} from './simulated-streams.js'
import {createCaptureStringifier, propertiesToJson} from '../capture/index.js'
import {toMqttProperties} from './commands/publish-properties.js'

/**
 * `iotd sim --backfill from..to`: the same device streams on a simulated clock, without a broker, as fast as the
 * disk takes them. Every device starts at `from`; rows come out in time order across devices. The CSV is iotd's
 * capture format (docs/capture-format.md), so `iotd replay` can play it back; JSONL carries the same columns. A fleet's
 * MQTT 5 `properties:` go into the format's properties column (a `properties` key in JSONL), as `iotd record
 * --mqtt-version 5` keeps them from a live run, so a replayed backfill publishes them again.
 *
 * Modbus groups are stepped on the same clock (SimulatedModbusStreams): each update of a device is one row of its
 * tag values, the JSON a mirror publishes, on its mirror topic (modbus/<group>/<deviceId> without one); its faults go
 * to the labels file.
 */

export type BackfillFormat = 'csv' | 'jsonl'

export interface BackfillOptions {
  scenario: Scenario
  /** The scenario's name, for the summary (a merge of shards checks that they are one scenario's). */
  scenarioName?: string
  devices: DeviceSpec[]
  /** The fleets `devices` were expanded from (--fleet; default all): a shard's summary records their definition. */
  fleets?: readonly string[]
  /** Step the scenario's Modbus groups too (default true; a --fleet selection leaves them out). */
  modbus?: boolean
  /** The shard of `devices`: the Modbus devices are split the same way. */
  shard?: {index: number; count: number}
  fromMs: number
  toMs: number
  /** A file path, or `-` for stdout. */
  out: string
  format: BackfillFormat
  labelsFile?: string
  /** Stop after this many messages in total (the scenario's limit). */
  limit?: number
  /** Ctrl-C: stop generating, close the files cleanly (no half row), report what was written. */
  signal?: AbortSignal
}

export interface BackfillSummary {
  schemaVersion: 1
  /** Tells a backfill summary from a live run's (`iotd sim merge` takes either kind, not both at once). */
  kind: 'backfill'
  scenario?: string
  /** The seed of every stream: the same seed, scenario and range give the same rows. */
  seed: number
  /** The scenario sets no seed and none was given: this one was drawn for this backfill. */
  seedDrawn?: boolean
  /** This backfill as shard `index` (from 0, as a live run's summary and bench's result) of `count`: --shard 2/3 is {index: 1, count: 3}. */
  shard?: {index: number; count: number}
  /** A shard's: the whole data set's definition (as SimSummary's), which `iotd sim merge` compares. */
  definition?: {fingerprint: string; devices: number}
  out: string
  format: BackfillFormat
  from: string
  to: string
  /** MQTT devices and Modbus devices together. */
  devices: number
  /** Of `devices`, those of Modbus groups. */
  modbusDevices: number
  rows: number
  suppressed: number
  /** Anomaly labels generated (written to labelsFile when one was given). */
  labels: number
  labelsFile?: string
  elapsedMs: number
  interrupted: boolean
  /** The message limit ended the backfill before `to`: `at` is the time of the last message generated. */
  stoppedAtLimit?: {limit: number; at: string}
  /**
   * Nothing fell due in the range (no row, none suppressed): when the first message was due, and the shortest
   * interval of the devices, which say why.
   */
  nothingDue?: {firstDueAt?: string; shortestEveryMs: number}
  /** `iotd sim merge` of backfill shards: how many of how many shards these figures add up. */
  mergedShards?: {merged: number; of: number}
  /** `iotd sim merge`: shards missing, and what else the figures do not cover. */
  warnings?: string[]
}

/**
 * The format an --out path asks for: `.csv` (or `-`, stdout) is the capture format, `.jsonl`/`.json` JSON lines;
 * anything else is refused, so `x.parquet` never silently holds CSV.
 */
export function backfillFormatOf(out: string): BackfillFormat {
  if (out === '-' || /\.csv$/i.test(out)) return 'csv'
  if (/\.jsonl?$/i.test(out)) return 'jsonl'
  const ext = /\.[^./\\]+$/.exec(out)?.[0]
  throw new UsageError(
    ext ? `--out ${out}: backfill does not write ${ext} files` : `--out ${out}: say which format with the extension`,
    ['--out data.csv (iotd capture format), --out data.jsonl (JSON lines), or --out - (CSV to stdout)'],
  )
}

/** Parses `<from>..<to>`: ISO-8601 dates/times or epoch milliseconds. */
export function parseTimeRange(text: string): {fromMs: number; toMs: number} {
  const m = /^(.+?)\.\.(.+)$/.exec(text.trim())
  if (!m) throw new Error(`"${text}" is not a time range (try 2026-01-01T00:00Z..2026-01-02T00:00Z)`)
  const parse = (s: string) => {
    const t = /^\d+$/.test(s) ? Number(s) : Date.parse(s)
    if (!Number.isFinite(t)) throw new Error(`"${s}" is not a date/time (ISO-8601 or epoch ms)`)
    return t
  }
  const fromMs = parse(m[1])
  const toMs = parse(m[2])
  if (toMs <= fromMs) throw new Error(`the range ${text} is empty: its end must come after its start`)
  return {fromMs, toMs}
}

export async function runBackfill(opts: BackfillOptions): Promise<BackfillSummary> {
  const began = performance.now()
  const {scenario, devices} = opts
  const streams = new SimulatedStreams(scenario, devices, opts.fromMs)
  const modbus = new SimulatedModbusStreams(opts.modbus === false ? {seed: scenario.seed, modbus: []} : scenario, opts.fromMs, opts.shard)

  // A stream error (no such directory, disk full) is remembered and ends the loop with a clear message instead of
  // an unhandled 'error' event.
  let failure: {file: string; error: NodeJS.ErrnoException} | undefined
  const watch = <T extends NodeJS.EventEmitter>(stream: T, path: string): T =>
    stream.on('error', (error: NodeJS.ErrnoException) => (failure ??= {file: path, error}))
  const toStdout = opts.out === '-'
  const file: NodeJS.WritableStream = toStdout ? watch(process.stdout, 'stdout') : watch(createWriteStream(opts.out), opts.out)
  // A device's properties are the same on every message: turned into the capture format's JSON once per device.
  const propertiesOf = new Map<DeviceSpec, {json: Record<string, unknown>; cell: string}>()
  for (const d of devices) {
    const mqtt = toMqttProperties(d.properties)
    if (mqtt) {
      const json = propertiesToJson(mqtt)
      propertiesOf.set(d, {json, cell: JSON.stringify(json)})
    }
  }
  // The properties column only when a fleet has properties: files of other scenarios keep the six columns.
  const withProperties = propertiesOf.size > 0
  const sink = opts.format === 'csv' ? watch(createCaptureStringifier({properties: withProperties}), opts.out) : undefined
  sink?.pipe(file, {end: !toStdout})
  const labelsOut = opts.labelsFile ? watch(createWriteStream(opts.labelsFile), opts.labelsFile) : undefined
  let rows = 0
  let suppressed = 0
  let labels = 0
  let scheduled = 0
  let lastTs: number | undefined
  let stoppedAtLimit: BackfillSummary['stoppedAtLimit']

  const write = async (stream: NodeJS.WritableStream, chunk: unknown) => {
    if (failure) throw writeError(failure)
    if (!(stream as WriteStream).write(chunk as string)) {
      // Whichever of the two comes first, the other's listener is removed, so a long backfill does not pile them up.
      const settled = new AbortController()
      await Promise.race([once(stream, 'drain', {signal: settled.signal}), once(file, 'close', {signal: settled.signal})]).catch(() => undefined)
      settled.abort()
      if (failure) throw writeError(failure)
    }
  }

  const writeRow = async (ts: number, topic: string, qos: number, retain: boolean, payload: string, properties?: {json: Record<string, unknown>; cell: string}) => {
    lastTs = ts
    if (sink) await write(sink, withProperties ? [ts, topic, qos, retain ? 1 : 0, 'utf8', payload, properties?.cell ?? ''] : [ts, topic, qos, retain ? 1 : 0, 'utf8', payload])
    else await write(file, `${JSON.stringify(properties ? {ts, topic, qos, retain, payload, properties: properties.json} : {ts, topic, qos, retain, payload})}\n`)
  }
  const writeLabels = async (list: readonly AnomalyLabel[]) => {
    for (const label of list) {
      labels++
      if (labelsOut) await write(labelsOut, `${JSON.stringify(label)}\n`)
    }
  }

  while (Math.min(streams.peekDue(), modbus.peekDue()) < opts.toMs) {
    if (opts.limit !== undefined && scheduled >= opts.limit) {
      // Messages were still due before `to`: the summary must not pass for the whole range.
      stoppedAtLimit = {limit: opts.limit, at: new Date(lastTs ?? opts.fromMs).toISOString()}
      break
    }
    if (opts.signal?.aborted) break
    scheduled++
    // The MQTT message first when both are due at once, so the MQTT rows keep their order.
    if (modbus.peekDue() < streams.peekDue()) {
      const m = modbus.take()
      await writeLabels(m.labels)
      rows++
      await writeRow(m.ts, m.topic, m.qos, m.retain, m.payload)
      continue
    }
    const {ts, device, sample} = streams.take()
    await writeLabels(sample.labels)
    if (sample.payload === null) {
      suppressed++
      lastTs = ts
      continue
    }
    rows++
    await writeRow(ts, device.topic, device.qos, device.retain, sample.payload, propertiesOf.get(device))
  }

  if (sink) sink.end()
  else if (!toStdout) file.end()
  if (toStdout) {
    // stdout is not ours to close: wait until the CSV stream has handed everything over and stdout took it.
    if (sink) await once(sink, 'end').catch(() => undefined)
    await new Promise<void>((resolve) => (file as WriteStream).write('', () => resolve()))
  } else await once(file, 'close').catch(() => undefined)
  if (labelsOut) {
    labelsOut.end()
    await once(labelsOut, 'close').catch(() => undefined)
  }
  if (failure) throw writeError(failure)
  const firstDue = Math.min(streams.peekDue(), modbus.peekDue())
  const nothingDue: BackfillSummary['nothingDue'] =
    rows + suppressed === 0 && !opts.signal?.aborted
      ? {
          ...(Number.isFinite(firstDue) && {firstDueAt: new Date(Math.round(firstDue)).toISOString()}),
          shortestEveryMs: devices.reduce((least, d) => Math.min(least, d.everyMs), modbus.shortestEveryMs),
        }
      : undefined
  const notApplied = notAppliedInBackfill(scenario, devices)
  return {
    schemaVersion: 1,
    kind: 'backfill',
    ...(opts.scenarioName !== undefined && {scenario: opts.scenarioName}),
    seed: scenario.seed,
    ...(scenario.seedDrawn && {seedDrawn: true}),
    ...(opts.shard && {shard: opts.shard, definition: scenarioFingerprint(scenario, {fleets: opts.fleets, modbus: opts.modbus})}),
    out: opts.out,
    format: opts.format,
    from: new Date(opts.fromMs).toISOString(),
    to: new Date(opts.toMs).toISOString(),
    devices: devices.length + modbus.size,
    modbusDevices: modbus.size,
    rows,
    suppressed,
    labels,
    ...(opts.labelsFile ? {labelsFile: opts.labelsFile} : {}),
    elapsedMs: performance.now() - began,
    interrupted: opts.signal?.aborted ?? false,
    ...(stoppedAtLimit && {stoppedAtLimit}),
    ...(nothingDue && {nothingDue}),
    ...(notApplied.length > 0 && {warnings: notApplied}),
  }
}

/** A path as said: relative to the working directory when under it, else whole. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? path : rel
}

/**
 * What a live run would apply to these devices and a backfill does not, one warning per fleet: a behaviour module
 * (its onTick too: the rows carry the fields as their generators make them, not what the module sets), and commands
 * and twins, which answer messages from a broker that a backfill has not. Said, as the data would otherwise differ
 * from a live run's with nothing to tell why.
 */
export function notAppliedInBackfill(scenario: Scenario, devices: readonly DeviceSpec[]): string[] {
  const fleets = new Set(devices.map((d) => d.fleet))
  return scenario.fleets.flatMap((f) => {
    if (!fleets.has(f.name)) return []
    const left: string[] = []
    if (f.behavior) left.push(`its behaviour module ${shortPath(f.behavior)} (onStart, onTick and onMessage are not called: the rows carry the fields as generated, not what the module would set, switch or publish)`)
    const answers = [f.commands && f.commands.length > 0 && 'commands:', f.twin && 'twin:'].filter((k): k is string => typeof k === 'string')
    if (answers.length > 0) left.push(`its ${answers.join(' and ')} (they answer messages from a broker, and a backfill connects to none)`)
    return left.length > 0 ? [`fleet ${f.name}: a backfill does not apply ${left.join(', nor ')}; a live run does`] : []
  })
}

function writeError({file, error}: {file: string; error: NodeJS.ErrnoException}): IotdError {
  const why = error.code === 'ENOENT' ? 'its directory does not exist' : error.code === 'EACCES' ? 'permission denied' : error.code === 'ENOSPC' ? 'the disk is full' : error.message
  return new IotdError(`cannot write ${file}: ${why}`, EXIT_CODES.runtime)
}
