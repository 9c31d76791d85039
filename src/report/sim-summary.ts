import type {ChalkInstance} from 'chalk'
import {formatDuration} from '../config/units.js'
import type {FleetCounters, LatencyFigures, SimSummary} from '../sim/types.js'
import {clientBottleneck, usableCores} from './client-health.js'
import {redactUrl} from '../net/mqtt-endpoint.js'
import {formatBytes, formatMs, formatNumber, formatPercent, formatRateValue} from '../metrics/format.js'
import {paint} from './terminal.js'
import type {ModbusRunSummary, SparkplugRunSummary} from '../sim/run-simulation.js'
import type {BackfillSummary} from '../sim/backfill.js'
import {thresholdLines} from './verdict-lines.js'
import {layoutTable, type ColumnSpec} from './text-table.js'
import {commandFigures, repliesNotSent, type CommandCount} from './command-figures.js'

/**
 * The end-of-run summary of `iotd sim`, k6-style: what went wrong (or a single ✓) first, then the numbers.
 * Pure: everything it shows comes from the summary and the options.
 */

export interface SummaryFormatOptions {
  color?: boolean
  /** Cores available to the run, for the client-bottleneck verdict (default: this machine's). */
  cores?: number
}

export type VerdictLevel = 'ok' | 'warn' | 'fail'

export interface Verdict {
  level: VerdictLevel
  text: string
}

const INDENT = '  '
const LABEL_WIDTH = 12

/**
 * Verdicts derived from the counters, then the engine's own warnings (exact duplicates dropped). Counter-based
 * problems are derived here so every reporter words them the same way; `summary.warnings` is for what the
 * counters cannot say (broker notes, configuration caveats).
 */
export function simVerdicts(summary: SimSummary, cores: number): Verdict[] {
  const t = summary.totals
  const verdicts: Verdict[] = []
  // A merge's length is its longest shard's: its warnings name the shard that was interrupted, and when.
  if (summary.interrupted && !summary.mergedShards) {
    verdicts.push({level: 'warn', text: `interrupted after ${formatDuration(summary.elapsedMs)} — partial summary`})
  }
  if (summary.neverConnected) {
    // Nothing the run was asked to do happened: the command exits 1 (noDeviceConnected).
    verdicts.push({level: 'fail', text: `no device ever connected (${plural(t.errors, 'connect error')}); nothing was published`})
  } else if (summary.connectAllMs === undefined && t.connected < t.target) {
    verdicts.push({level: 'fail', text: `not every device connected (${formatNumber(t.connected)} of ${formatNumber(t.target)} connected at the end)`})
  } else if (t.connected < t.target && !summary.interrupted) {
    // All had connected once; some were away when the run ended. Said, so the ✓ below never claims they all were.
    verdicts.push({level: 'warn', text: `${formatNumber(t.connected)} of ${formatNumber(t.target)} devices were connected when the run ended (every device had connected; a ramp-down, reboots, a storm or lost connections account for the rest)`})
  }
  if (summary.publishedNothing) {
    verdicts.push({level: 'fail', text: `nothing was published${t.dropped > 0 ? `: all ${plural(t.dropped, 'message')} due ${t.dropped === 1 ? 'was' : 'were'} dropped` : ''} (the devices did not stay connected when messages fell due)`})
  }
  if (t.errors > 0) verdicts.push({level: 'fail', text: `${plural(t.errors, 'client error')} (failed connects, publishes or command subscriptions, and exceptions of a behaviour module; the warnings say which)`})
  if (t.late > 0) verdicts.push({level: 'warn', text: `${plural(t.late, 'message')} ${t.late === 1 ? 'was' : 'were'} late (due time missed by more than one period)`})
  const unsent = t.unsent ?? 0
  if (t.dropped - unsent > 0) verdicts.push({level: 'warn', text: `${plural(t.dropped - unsent, 'message')} dropped (QoS 0 with the connection down at the due time, or QoS 1/2 past a device's offlineQueue)`})
  if (unsent > 0) verdicts.push({level: 'warn', text: `${plural(unsent, 'QoS 1/2 message')} still queued when the run ended ${unsent === 1 ? 'was' : 'were'} not sent (counted as dropped): the devices were offline or their in-flight window full (offlineQueue, inflight)`})
  // Failed commands are no clean run, even when a rule's fail: share asked for them: the ✓ below would say otherwise.
  if (t.commandsFailed > 0) verdicts.push({level: 'warn', text: `${formatNumber(t.commandsFailed)} of ${plural(t.commandsReceived, 'command')} failed (a rule's fail: share, a value, mode or anomaly that could not be applied, or cut off by the run's stop)`})
  if (t.commandsReplyLost > 0) verdicts.push({level: 'warn', text: `${repliesNotSent(t.commandsReplyLost, 'commands and twin updates')} (the device was down or going down when ${t.commandsReplyLost === 1 ? 'it' : 'they'} fell due, its connection was given up before the broker acknowledged ${t.commandsReplyLost === 1 ? 'it' : 'them'}, or ${t.commandsReplyLost === 1 ? 'it' : 'they'} had no topic)`})
  const bottleneck = clientBottleneck(summary.health, cores)
  if (bottleneck) verdicts.push({level: 'warn', text: bottleneck})
  const seen = new Set(verdicts.map((v) => v.text))
  for (const warning of summary.warnings) {
    if (seen.has(warning)) continue
    seen.add(warning)
    verdicts.push({level: 'warn', text: warning})
  }
  const partialMerge = summary.mergedShards !== undefined && summary.mergedShards.merged < summary.mergedShards.of
  if (verdicts.length === 0 && !partialMerge) {
    verdicts.push({level: 'ok', text: `all ${plural(summary.devices, 'device')} connected; no late, dropped or failed messages`})
  }
  return verdicts
}

/**
 * Verdicts of a run without an MQTT fleet (Modbus groups, Sparkplug edge nodes): the fleet's counters say nothing
 * there, so only what the run itself found: an interruption, nothing published, and the warnings naming the cause.
 */
export function besideFleetVerdicts(summary: SimSummary): Verdict[] {
  const t = summary.totals
  const verdicts: Verdict[] = []
  if (summary.interrupted) verdicts.push({level: 'warn', text: `interrupted after ${formatDuration(summary.elapsedMs)} — partial summary`})
  if (summary.neverConnected) verdicts.push({level: 'fail', text: 'no edge node ever connected; nothing was published'})
  else if (summary.publishedNothing) verdicts.push({level: 'fail', text: 'nothing was published, though samples fell due'})
  // The edge nodes' sessions are the run's connections (totals.target/connected).
  if (!summary.neverConnected && !summary.interrupted && t.connected < t.target) verdicts.push({level: 'warn', text: `${formatNumber(t.connected)} of ${plural(t.target, 'edge node')} had a session when the run ended`})
  if (t.errors > 0) verdicts.push({level: 'fail', text: `${plural(t.errors, 'client error')} (failed connects or subscriptions; the warnings say which)`})
  for (const warning of new Set(summary.warnings)) verdicts.push({level: 'warn', text: warning})
  return verdicts
}

export function formatSimSummary(summary: SimSummary & {modbus?: ModbusRunSummary; sparkplug?: SparkplugRunSummary}, opts: SummaryFormatOptions = {}): string {
  const c = paint(opts.color ?? false)
  const cores = opts.cores ?? usableCores()
  const lines: string[] = []
  // A scenario may be Modbus devices or Sparkplug edge nodes only: then there is no MQTT fleet to report on.
  const mqtt = summary.devices > 0 || (summary.modbus === undefined && summary.sparkplug === undefined)
  // Sparkplug groups are rows of the fleet table (their edge nodes' sessions and messages), so it adds up to the totals.
  const table = mqtt || summary.fleets.length > 0

  const broker = `${redactUrl(summary.broker)}${summary.embeddedBroker ? ' (embedded)' : ''}`
  lines.push(`${c.bold('iotd sim')}  ${c.bold(summary.scenario)}  ${c.dim('seed')} ${summary.seed}  ${c.dim('broker')} ${broker}`)
  const fleetCount = summary.fleets.length
  lines.push(
    mqtt
      ? `${INDENT}ran ${formatDuration(summary.elapsedMs)}, ${plural(summary.devices, 'device')} in ${plural(fleetCount, 'fleet')}, ` +
          `${plural(summary.workers, 'worker')}, ${formatBytes(summary.totals.bytes)} sent`
      : `${INDENT}ran ${formatDuration(summary.elapsedMs)}, ${[summary.modbus && 'Modbus devices', summary.sparkplug && 'Sparkplug edge nodes'].filter(Boolean).join(' and ')} only${summary.sparkplug ? `, ${formatBytes(summary.totals.bytes)} sent` : ''}`,
  )

  for (const v of mqtt ? simVerdicts(summary, cores) : besideFleetVerdicts(summary)) lines.push(`${INDENT}${verdictMark(v.level, c)} ${v.text}`)
  if (summary.thresholds && summary.thresholds.length > 0) lines.push(...thresholdLines(summary.thresholds, c, opts.color ?? false))

  lines.push('')
  if (table) {
    lines.push(...fleetTable(summary, c))
    lines.push('')
  }
  if (summary.modbus) {
    lines.push(...modbusLines(summary.modbus, c))
    lines.push('')
  }
  if (summary.sparkplug) {
    lines.push(...sparkplugLines(summary.sparkplug, c))
    lines.push('')
  }

  if (mqtt) {
    lines.push(labelled('publish lag', latencyText(summary.publishLag, 'no messages published'), c))
    lines.push(labelled('qos≥1 ack', latencyText(summary.ackLatency, 'no QoS 1/2 messages'), c))
    lines.push(labelled('connect', connectText(summary), c))
  }
  const h = summary.health
  lines.push(
    labelled(
      'client',
      `cpu ${formatPercent(h.cpuPercent)}  rss ${formatBytes(h.rssBytes)} (peak ${formatBytes(h.peakRssBytes)})  ` +
        `event-loop lag p99 ${formatMs(h.eventLoopLagP99Ms)}`,
      c,
    ),
  )
  if (summary.totals.suppressed > 0) {
    lines.push(labelled('anomalies', `${plural(summary.totals.suppressed, 'message')} suppressed by dropout anomalies (intended)`, c))
  }
  // A Sparkplug group's commands (NCMD/DCMD) are told on its own line above.
  const sparkplugRows = new Set(summary.sparkplug?.groups.map((g) => g.name))
  for (const f of summary.fleets) if (f.commandsReceived > 0 && !sparkplugRows.has(f.fleet)) lines.push(labelled('commands', commandsText(f, c), c))
  if (summary.labelsFile) lines.push(labelled('labels', `${plural(summary.labels ?? 0, 'anomaly label')} → ${summary.labelsFile}`, c))
  return lines.join('\n')
}

/** One line per Modbus group: where it listens and what it answered. */
function modbusLines(m: ModbusRunSummary, c: ChalkInstance): string[] {
  const lines = m.groups.map((g) => {
    const listeners = m.listeners.filter((l) => l.group === g.group)
    const ports = listeners.map((l) => l.port).sort((a, b) => a - b)
    const where = ports.length === 0 ? '' : ` on ${listeners[0].host}:${ports.length > 1 ? `${ports[0]}-${ports[ports.length - 1]}` : ports[0]}`
    const problems = `${formatNumber(g.exceptions)} exceptions, ${formatNumber(g.unanswered)} unanswered`
    const text = `${g.group}: ${plural(g.devices, 'device')}${where}, ${plural(g.requests, 'request')} (${g.exceptions + g.unanswered > 0 ? c.yellow(problems) : problems}), ${plural(g.writes, 'write')}`
    return labelled('modbus', text, c)
  })
  if (m.mirrorErrors > 0) lines.push(labelled('modbus', c.red(`${plural(m.mirrorErrors, 'MQTT mirror error')}`), c))
  return lines
}

/** One line per Sparkplug group: what its edge nodes published, what they were told, what they held back. */
function sparkplugLines(s: SparkplugRunSummary, c: ChalkInstance): string[] {
  return s.groups.map((g) => {
    const sent = `${plural(g.nodeBirths, 'NBIRTH')}, ${plural(g.deviceBirths, 'DBIRTH')}, ${plural(g.ndata, 'NDATA')}, ${plural(g.ddata, 'DDATA')}, ${plural(g.deviceDeaths, 'DDEATH')}, ${plural(g.nodeDeaths, 'NDEATH')}`
    const told = `${plural(g.commands, 'command')} (${plural(g.rebirths, 'rebirth')}, ${plural(g.writes, 'write')}${g.refusedWrites > 0 ? `, ${c.yellow(`${formatNumber(g.refusedWrites)} refused`)}` : ''})`
    const stored = g.forwarded + g.storeDropped > 0 ? ` — ${plural(g.forwarded, 'sample')} forwarded as historical${g.storeDropped > 0 ? `, ${formatNumber(g.storeDropped)} not kept` : ''}` : ''
    const held = g.held > 0 ? `, ${c.yellow(`${plural(g.held, 'sample')} held (node not born)${stored}`)}` : ''
    const trouble = g.disconnects + g.errors > 0 ? `, ${c.yellow(`${plural(g.disconnects, 'disconnect')}, ${plural(g.errors, 'error')}`)}` : ''
    return labelled('sparkplug', `${g.name} (group ${g.group}): ${plural(g.nodes, 'edge node')}, ${plural(g.devices, 'device')}; ${sent}; ${told}${held}${trouble}`, c)
  })
}

const FLEET_COLUMNS: ColumnSpec[] = [
  {header: 'fleet', align: 'left', maxWidth: 24},
  {header: 'connected', align: 'right'},
  {header: 'published', align: 'right'},
  {header: 'msg/s', align: 'right'},
  {header: 'acked', align: 'right'},
  {header: 'late', align: 'right'},
  {header: 'dropped', align: 'right'},
  {header: 'errors', align: 'right'},
  {header: 'reconnects', align: 'right'},
]

/** Which cells turn yellow/red when non-zero, by column index. */
const WARN_COLUMNS = new Set([5, 6, 8])
const FAIL_COLUMNS = new Set([7])

function fleetTable(summary: SimSummary, c: ChalkInstance): string[] {
  const seconds = summary.elapsedMs / 1000
  const row = (f: FleetCounters, name: string) => [
    name,
    `${formatNumber(f.connected)}/${formatNumber(f.target)}`,
    formatNumber(f.published),
    formatRateValue(seconds > 0 ? f.published / seconds : 0),
    formatNumber(f.acked),
    formatNumber(f.late),
    formatNumber(f.dropped),
    formatNumber(f.errors),
    formatNumber(f.reconnects),
  ]
  const raw = [...summary.fleets.map((f) => row(f, f.fleet)), row(summary.totals, 'total')]
  const table = layoutTable(FLEET_COLUMNS, raw)
  const joinRow = (cells: string[]) => INDENT + cells.join('  ').trimEnd()
  const totalIndex = table.rows.length - 1
  return [
    c.dim(joinRow(table.header)),
    ...table.rows.map((cells, r) => {
      const coloured = cells.map((cell, i) => {
        const nonZero = raw[r][i] !== '0'
        if (nonZero && FAIL_COLUMNS.has(i)) return c.red(cell)
        if (nonZero && WARN_COLUMNS.has(i)) return c.yellow(cell)
        return cell
      })
      return r === totalIndex ? c.bold(joinRow(coloured)) : joinRow(coloured)
    }),
  ]
}

/** `p50 0.8ms  p90 1.2ms  p99 3.1ms  p99.9 5.0ms  max 9.8ms  (1,440)`, or `empty` when nothing was measured. */
export function latencyText(l: LatencyFigures, empty: string): string {
  if (l.count === 0) return empty
  // Below 1,000 samples p99.9 is just the maximum again: leave it out, and the line fits 80 columns.
  const p999 = l.count >= 1000 ? `  p99.9 ${formatMs(l.p999)}` : ''
  return `p50 ${formatMs(l.p50)}  p90 ${formatMs(l.p90)}  p99 ${formatMs(l.p99)}${p999}  max ${formatMs(l.max)}  (${formatNumber(l.count)} samples)`
}

function connectText(summary: SimSummary): string {
  const head =
    summary.connectAllMs === undefined
      ? `${formatNumber(summary.totals.connected)} of ${formatNumber(summary.totals.target)} connected`
      : summary.mergedShards && summary.mergedShards.merged < summary.mergedShards.of
        ? // A partial merge knows nothing of the missing shards' devices: it never says "all".
          `the ${formatNumber(summary.devices)} devices of ${summary.mergedShards.merged} of ${summary.mergedShards.of} shards connected, ${eachShardWithin(summary.connectAllMs)}`
        : summary.mergedShards
          ? `all ${formatNumber(summary.devices)} connected, ${eachShardWithin(summary.connectAllMs)}`
          : `all ${formatNumber(summary.devices)} connected within ${formatMs(summary.connectAllMs)} of the first connect`
  const l = summary.connectLatency
  return l.count === 0 ? head : `${head}   p50 ${formatMs(l.p50)}  p99 ${formatMs(l.p99)}  max ${formatMs(l.max)}`
}

/**
 * Shards connect in separate processes, each timed from its own first connect: a merge knows the slowest shard's
 * figure, not the time from the fleet's first connect to its last.
 */
function eachShardWithin(ms: number): string {
  return `each shard within ${formatMs(ms)} of its own first connect`
}

function labelled(label: string, text: string, c: ChalkInstance): string {
  return `${INDENT}${c.dim(label.padEnd(LABEL_WIDTH))}  ${text}`
}

function verdictMark(level: VerdictLevel, c: ChalkInstance): string {
  if (level === 'ok') return c.green('✓')
  if (level === 'fail') return c.red('✗')
  return c.yellow('⚠')
}

/**
 * `zone: 1,100 received, 1,098 applied, 2 failed, 0 ignored (no rule matched); 1,100 replied`: what a fleet's devices
 * did with the messages on their command subscriptions (received = applied + failed + ignored, + `N not taken (the
 * device was going down)` for a reboot's or the stop's, when there are any), then their replies
 * (reached the broker, or not sent), in the order of the progress lines.
 */
export function commandsText(f: FleetCounters, c: ChalkInstance): string {
  const {fate, replies} = commandFigures(f)
  const text = (x: CommandCount) => {
    const figure = `${formatNumber(x.count)} ${x.noun}`
    const why = x.kind === 'ignored' ? ' (no rule matched)' : x.kind === 'notTaken' ? ' (the device was going down)' : ''
    return `${x.warn ? c.yellow(figure) : figure}${why}`
  }
  return `${f.fleet}: ${fate.map(text).join(', ')}; ${replies.map(text).join(', ')}`
}

/**
 * Why a run whose devices connected published nothing (summary.publishedNothing), as the run's error and a merge's
 * warning about that shard say it: MQTT fleet devices lost their connections, Sparkplug edge nodes (a run of only
 * them) were never born and held their samples.
 */
export function didNothingReason(summary: SimSummary & {sparkplug?: unknown}): string {
  if (summary.devices === 0 && summary.sparkplug) return `the Sparkplug edge nodes connected to ${summary.broker} but published nothing: their samples were held`
  return `the devices connected to ${summary.broker} but published nothing`
}

export function plural(n: number, noun: string): string {
  return `${formatNumber(n)} ${n === 1 ? noun : `${noun}s`}`
}

/**
 * The line a backfill ends with: rows (and the messages the devices' dropouts left out), where they went, how many
 * anomalies were labelled and where the labels went, and the seed (with how to repeat it when it was drawn). A
 * limit that ended it before `to` is said, so the range shown is never taken for the range covered.
 */
export function formatBackfillSummary(s: BackfillSummary, devicesNote = ''): string {
  const rows = `${plural(s.rows, 'row')} from ${plural(s.devices, 'device')}${devicesNote}${s.suppressed > 0 ? ` (${formatNumber(s.suppressed)} suppressed by dropouts)` : ''}`
  const out = s.out === '-' ? 'stdout' : s.out
  const labels = s.labelsFile ? `; ${plural(s.labels, 'label')} -> ${s.labelsFile}` : `; ${plural(s.labels, 'anomaly label')} (no labels file: --labels writes them)`
  const shard = s.shard ? `shard ${s.shard.index + 1}/${s.shard.count} ` : s.mergedShards ? `(${s.mergedShards.merged} of ${s.mergedShards.of} shards) ` : ''
  const seed = s.seedDrawn ? `seed ${s.seed} (drawn: the scenario sets no seed; --seed ${s.seed} repeats this data)` : `seed ${s.seed}`
  const limit = s.stoppedAtLimit ? `\n  stopped at the limit of ${plural(s.stoppedAtLimit.limit, 'message')} at ${s.stoppedAtLimit.at}: the rows end there, not at ${s.to}` : ''
  const warnings = (s.warnings ?? []).map((w) => `\n  ⚠ ${w}`).join('')
  return `backfill ${shard}${s.from} .. ${s.to}, ${seed}: ${rows} -> ${out}${labels} (${(s.elapsedMs / 1000).toFixed(2)}s)${limit}${warnings}`
}

/** Why a backfill wrote no row, in one sentence (the command exits 1 with it). */
export function emptyBackfillReason(s: BackfillSummary): string {
  const range = `${s.from} .. ${s.to}`
  if (s.suppressed > 0) return `every message due in ${range} (${formatNumber(s.suppressed)}) was suppressed by a dropout anomaly: no row was written`
  if (s.devices === 0) return `the backfill of ${range} has no devices: no row was written`
  const span = Date.parse(s.to) - Date.parse(s.from)
  const first = s.nothingDue?.firstDueAt ? `; the first is due at ${s.nothingDue.firstDueAt}` : ''
  const every = s.nothingDue && Number.isFinite(s.nothingDue.shortestEveryMs) ? `, and the shortest interval of the devices is ${formatDuration(s.nothingDue.shortestEveryMs)} against a range of ${formatDuration(span)}` : ''
  return `no message fell due in ${range}${first}${every}: no row was written`
}
