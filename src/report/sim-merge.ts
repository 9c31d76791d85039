import type {FleetCounters, LatencyFigures, SimSummary} from '../sim/types.js'
import type {BackfillSummary} from '../sim/backfill.js'
import {formatDuration} from '../config/units.js'
import {didNothingReason} from './sim-summary.js'

/**
 * `iotd sim merge`: the JSON summaries of one run's shards (`iotd sim --shard i/n --json`) as the summary of the
 * whole fleet. Counts (devices, published, acknowledged, delivered, errors, ...) are summed exactly, per fleet and in
 * total. A sim summary keeps latency percentiles, not histograms, so the merged percentiles are the largest of the
 * shards' — an upper bound of the true ones — while counts and maxima are exact. The command judges the shards'
 * thresholds on the merged summary through sim/sim-thresholds.ts (judgeMergedSummary), which holds sim's vocabulary.
 */

type ShardSummary = SimSummary & {shard?: {index: number; count: number}}

/** A backfill's summary (`iotd sim --backfill --json`), told apart from a live run's. */
export function isBackfillSummary(p: unknown): p is BackfillSummary {
  const o = p as Partial<BackfillSummary> | null
  return typeof o === 'object' && o !== null && (o.kind === 'backfill' || (typeof o.rows === 'number' && typeof o.from === 'string' && !('fleets' in o)))
}

type ShardPart = {shard?: {index: number; count: number}; scenario?: string; seed: number; devices: number; definition?: {fingerprint: string; devices: number}}

/** What every merge of shards found besides refusing: the shards missing (the caller warns; the command exits 1). */
interface ShardCheck {
  missing: number[]
  /** What could not be checked (shards of an older iotd carry no definition), for the merged summary's warnings. */
  warnings: string[]
}

/**
 * What a refusal calls each part: the file the user passed (`iotd sim merge a.json b.json`), else its place in the
 * list (a caller of the library that has no files).
 */
type PartName = (i: number) => string

function partNames(names: readonly string[] | undefined): PartName {
  return (i) => names?.[i] ?? `summary ${i + 1}`
}

/** "the first (shard-1.json)" when the parts are files; "the first" alone would repeat "summary 1". */
function theFirst(names: readonly string[] | undefined): string {
  return names?.[0] === undefined ? 'the first' : `the first (${names[0]})`
}

/**
 * The checks every merge of shards makes, live or backfill: each part a shard of the same count, one scenario and
 * seed (`same` adds what else must match), no shard twice, one definition of the scenario (its fingerprint: the same
 * name and seed over a file whose fleets were edited is another set of devices, and the sum of its shards with the
 * first's is the run of neither), and every device of it once when every shard is there.
 */
function checkShards(parts: readonly ShardPart[], names: readonly string[] | undefined, isKind: (p: unknown, i: number) => string | undefined, same?: (p: ShardPart) => string | undefined): ShardCheck {
  const [first] = parts
  const count = first.shard?.count
  const name = partNames(names)
  const problems: string[] = []
  parts.forEach((p, i) => {
    const notKind = isKind(p, i)
    if (notKind) problems.push(notKind)
    else if (!p.shard) problems.push(`${name(i)} is not a shard (run with --shard i/n or --shards n)`)
    else if (p.shard.count !== count) problems.push(`${name(i)} is shard ${p.shard.index + 1}/${p.shard.count}, ${theFirst(names)} is ${count === undefined ? 'not a shard' : `of ${count}`}`)
    else if (p.scenario !== first.scenario || p.seed !== first.seed) problems.push(`${name(i)} ran scenario ${p.scenario} with seed ${p.seed}, ${theFirst(names)} ${first.scenario} with seed ${first.seed}: not one fleet`)
    else {
      const other = same?.(p)
      if (other) problems.push(`${name(i)} ${other}`)
    }
  })
  if (problems.length > 0) throw new Error(problems.join('; '))
  const indices = parts.map((p) => p.shard!.index)
  const twice = indices.findIndex((x, i) => indices.indexOf(x) !== i)
  if (twice >= 0) {
    const given = names ? ` (${parts.flatMap((p, i) => (p.shard!.index === indices[twice] ? [name(i)] : [])).join(', ')})` : ''
    throw new Error(`shard ${indices[twice] + 1}/${count} is given twice${given}`)
  }
  const missing = Array.from({length: count!}, (_, i) => i).filter((i) => !indices.includes(i))
  return {missing, warnings: checkDefinitions(parts, missing.length === 0)}
}

/**
 * Refuses shards of different definitions of one scenario (their fingerprints differ), and a complete set whose
 * devices do not add up to the definition's; returns the warning for shards that carry no fingerprint.
 */
function checkDefinitions(parts: readonly ShardPart[], complete: boolean): string[] {
  const name = (p: ShardPart) => `shard ${p.shard!.index + 1}/${p.shard!.count}`
  const scenario = `scenario ${parts[0].scenario ?? '(unnamed)'} (seed ${parts[0].seed})`
  const known = parts.filter((p) => p.definition)
  const groups = new Map<string, ShardPart[]>()
  for (const p of known) groups.set(p.definition!.fingerprint, [...(groups.get(p.definition!.fingerprint) ?? []), p])
  if (groups.size > 1) {
    const each = [...groups.values()].map((g) => `${g.length === 1 ? 'shard' : 'shards'} ${g.map((p) => `${p.shard!.index + 1}/${p.shard!.count}`).join(', ')}: ${g[0].definition!.devices} devices in all, fingerprint ${g[0].definition!.fingerprint}`)
    throw new Error(`the shards ran different definitions of ${scenario} (${each.join('; ')}): their sum is the run of neither, as the same name and seed over an edited file are other devices; run every shard from one scenario file`)
  }
  if (known.length === 0) return [`the shards carry no scenario fingerprint (an older iotd wrote them): nothing but the name and seed shows they ran one definition of ${scenario}`]
  const unknown = parts.filter((p) => !p.definition)
  if (unknown.length > 0) {
    return [`${unknown.map((p) => name(p)).join(', ')} ${unknown.length === 1 ? 'carries' : 'carry'} no scenario fingerprint (an older iotd wrote ${unknown.length === 1 ? 'it' : 'them'}): nothing but the name and seed shows ${unknown.length === 1 ? 'it' : 'they'} ran the definition of ${scenario} the others did`]
  }
  const expected = known[0].definition!.devices
  const held = sum(parts.map((p) => p.devices))
  if (complete && held !== expected) {
    throw new Error(`the ${parts.length} shards of ${scenario} hold ${held} devices together, their definition ${expected}: they did not split one fleet (were they run by different versions of iotd?)`)
  }
  return []
}

function missingWarning(missing: readonly number[], merged: number, count: number): string {
  return `shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i + 1}/${count}`).join(', ')} missing: the figures are those of ${merged} of ${count} shards`
}

function isLiveSummary(p: unknown): boolean {
  const s = p as Partial<SimSummary> | null
  return typeof s === 'object' && s !== null && s.schemaVersion === 1 && Array.isArray(s.fleets) && s.totals !== undefined
}

/**
 * The shards that did nothing they were asked, each of which exited 1 on its own: no device ever connected, or the
 * devices connected and published nothing. A merge of them must not pass where the shard did not.
 */
export function shardsThatDidNothing(parts: readonly ShardSummary[]): string[] {
  return parts.flatMap((p) => {
    const name = p.shard ? `shard ${p.shard.index + 1}/${p.shard.count}` : 'a shard'
    if (p.neverConnected) return [`${name}: no device ever connected to ${p.broker}; it published nothing`]
    if (p.publishedNothing) return [`${name}: ${didNothingReason(p)}`]
    return []
  })
}

/** Shards whose lengths differ by more than a tenth (and a second) were not one run: said, as their rates mix. */
function lengthWarning(parts: readonly ShardSummary[]): string | undefined {
  const lengths = parts.map((p) => p.elapsedMs)
  const shortest = Math.min(...lengths)
  const longest = Math.max(...lengths)
  if (longest - shortest <= Math.max(1000, longest / 10)) return undefined
  return `the shards ran for different times (${formatDuration(shortest)} to ${formatDuration(longest)}): not one run's length; the merged rates divide by the longest`
}

/** `names`: the files the parts were read from, in order, which the refusals name (else "summary 2"). */
export function mergeSimSummaries(parts: readonly ShardSummary[], names?: readonly string[]): SimSummary {
  if (parts.length === 0) throw new Error('no summaries to merge')
  const [first] = parts
  const name = partNames(names)
  // What the first is decides what the others must be: one that is no summary at all is the one problem told.
  if (!isLiveSummary(first)) throw new Error(isBackfillSummary(first) ? `${name(0)} is a backfill's summary, not a live run's` : `${name(0)} is not an iotd sim --json summary (neither a live run's nor a backfill's)`)
  const count = first.shard?.count
  const {missing, warnings: unchecked} = checkShards(parts, names, (p, i) => {
    const s = p as ShardSummary
    if (isBackfillSummary(s)) return `${name(i)} is a backfill's summary and ${name(0)} a live run's: merge the shards of one kind`
    return isLiveSummary(s) ? undefined : `${name(i)} is not an iotd sim --json summary`
  })

  const fleets = new Map<string, FleetCounters>()
  for (const p of parts) for (const f of p.fleets) fleets.set(f.fleet, addCounters(fleets.get(f.fleet), f))
  const warnings = parts.flatMap((p) => p.warnings.map((w) => `shard ${p.shard!.index + 1}/${count}: ${w}`))
  const length = lengthWarning(parts)
  // The merged run lasts as long as its longest shard: an interruption is said of the shard it cut short, with its time.
  const cut = parts.filter((p) => p.interrupted).map((p) => `shard ${p.shard!.index + 1}/${count} was interrupted after ${formatDuration(p.elapsedMs)} — partial summary: its figures end there`)
  warnings.unshift(...cut, ...(missing.length > 0 ? [missingWarning(missing, parts.length, count!)] : []), ...unchecked, ...shardsThatDidNothing(parts), ...(length ? [length] : []))
  const connectAll = parts.map((p) => p.connectAllMs)
  const errors = parts.flatMap((p) => (p.error ? [`shard ${p.shard!.index + 1}/${count}: ${p.error}`] : []))
  const merged: SimSummary = {
    schemaVersion: 1,
    scenario: first.scenario,
    seed: first.seed,
    ...(parts.every((p) => p.definition) && {definition: first.definition}),
    broker: [...new Set(parts.map((p) => p.broker))].join(', '),
    embeddedBroker: parts.some((p) => p.embeddedBroker),
    startedAt: parts.map((p) => p.startedAt).sort()[0],
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    interrupted: parts.some((p) => p.interrupted),
    devices: sum(parts.map((p) => p.devices)),
    workers: sum(parts.map((p) => p.workers)),
    fleets: [...fleets.values()],
    totals: parts.map((p) => p.totals).reduce((a, b) => addCounters(a, b)),
    publishLag: mergeLatency(parts.map((p) => p.publishLag)),
    ackLatency: mergeLatency(parts.map((p) => p.ackLatency)),
    connectLatency: mergeLatency(parts.map((p) => p.connectLatency)),
    health: {
      cpuPercent: sum(parts.map((p) => p.health.cpuPercent)),
      rssBytes: sum(parts.map((p) => p.health.rssBytes)),
      peakRssBytes: sum(parts.map((p) => p.health.peakRssBytes)),
      eventLoopLagP99Ms: Math.max(...parts.map((p) => p.health.eventLoopLagP99Ms)),
    },
    warnings,
    neverConnected: parts.every((p) => p.neverConnected),
    publishedNothing: parts.every((p) => p.publishedNothing),
    delivered: sum(parts.map((p) => p.delivered)),
    mergedShards: {merged: parts.length, of: count!},
  }
  if (connectAll.every((ms) => ms !== undefined)) merged.connectAllMs = Math.max(...(connectAll as number[]))
  if (errors.length > 0) merged.error = errors.join('; ')
  return merged
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0)
}

function addCounters(a: FleetCounters | undefined, b: FleetCounters): FleetCounters {
  if (!a) return {...b}
  const out = {...a}
  // A counter one shard's summary lacks (an optional one, or one an older iotd did not write) counts as 0 there.
  for (const key of Object.keys(b) as Array<keyof FleetCounters>) if (key !== 'fleet') (out[key] as number) = ((a[key] as number | undefined) ?? 0) + ((b[key] as number | undefined) ?? 0)
  return out
}

/** Counts add and the maximum is exact; the percentiles are the largest shard's (an upper bound). */
function mergeLatency(parts: readonly LatencyFigures[]): LatencyFigures {
  const max = (k: keyof LatencyFigures) => Math.max(0, ...parts.filter((p) => p.count > 0).map((p) => p[k]))
  return {count: sum(parts.map((p) => p.count)), p50: max('p50'), p90: max('p90'), p99: max('p99'), p999: max('p999'), max: max('max')}
}

/**
 * `iotd sim merge` of a backfill's shards (`iotd sim --backfill ... --shard i/n --json`): rows, suppressed messages,
 * labels and devices summed. The shards must be one scenario, seed and range; the files stay apart (each shard's
 * rows are in time order in its own file), so the merged summary lists them.
 */
export function mergeBackfillSummaries(parts: readonly BackfillSummary[], names?: readonly string[]): BackfillSummary {
  if (parts.length === 0) throw new Error('no summaries to merge')
  const [first] = parts
  const count = first.shard?.count
  const name = partNames(names)
  const {missing, warnings: unchecked} = checkShards(
    parts,
    names,
    (p, i) => {
      if (!isBackfillSummary(p)) return `${name(i)} is a live run's summary and ${name(0)} a backfill's: merge the shards of one kind`
      return (p as Partial<BackfillSummary>).kind === undefined ? `${name(i)} is a backfill summary without its shard and seed (an older iotd wrote it): run that shard again` : undefined
    },
    (p) => {
      const b = p as BackfillSummary
      return b.from !== first.from || b.to !== first.to ? `covers ${b.from} .. ${b.to}, ${theFirst(names)} ${first.from} .. ${first.to}: not one data set` : undefined
    },
  )
  const shardName = (p: BackfillSummary) => `shard ${p.shard!.index + 1}/${count}`
  const formats = [...new Set(parts.map((p) => p.format))]
  const warnings = [
    ...(missing.length > 0 ? [missingWarning(missing, parts.length, count!)] : []),
    ...unchecked,
    ...parts.filter((p) => p.stoppedAtLimit).map((p) => `${shardName(p)} stopped at its limit of ${p.stoppedAtLimit!.limit} messages at ${p.stoppedAtLimit!.at}`),
    ...parts.filter((p) => p.interrupted).map((p) => `${shardName(p)} was interrupted: its rows end early`),
    ...parts.flatMap((p) => (p.warnings ?? []).map((w) => `${shardName(p)}: ${w}`)),
    ...(formats.length > 1 ? [`the shards wrote different formats (${formats.join(', ')}): the files are one data set only once converted to one`] : []),
  ]
  const labelsFiles = parts.flatMap((p) => (p.labelsFile ? [p.labelsFile] : []))
  return {
    schemaVersion: 1,
    kind: 'backfill',
    ...(first.scenario !== undefined && {scenario: first.scenario}),
    seed: first.seed,
    ...(first.seedDrawn && {seedDrawn: true}),
    ...(parts.every((p) => p.definition) && {definition: first.definition}),
    out: parts.map((p) => p.out).join(', '),
    // Each shard picked its own --out: a mix of CSV and JSON lines is reported as the first's (and warned about).
    format: formats[0],
    from: first.from,
    to: first.to,
    devices: sum(parts.map((p) => p.devices)),
    modbusDevices: sum(parts.map((p) => p.modbusDevices)),
    rows: sum(parts.map((p) => p.rows)),
    suppressed: sum(parts.map((p) => p.suppressed)),
    labels: sum(parts.map((p) => p.labels)),
    ...(labelsFiles.length > 0 && {labelsFile: labelsFiles.join(', ')}),
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    interrupted: parts.some((p) => p.interrupted),
    mergedShards: {merged: parts.length, of: count!},
    warnings,
  }
}
