import type {FleetCounters, LatencyFigures, SimSummary} from '../sim/types.js'

/**
 * `iotd sim merge`: the JSON summaries of one run's shards (`iotd sim --shard i/n --json`) as the summary of the
 * whole fleet. Counts (devices, published, acknowledged, delivered, errors, ...) are summed exactly, per fleet and in
 * total. A sim summary keeps latency percentiles, not histograms, so the merged percentiles are the largest of the
 * shards' — an upper bound of the true ones — while counts and maxima are exact.
 */

type ShardSummary = SimSummary & {shard?: {index: number; count: number}}

export function mergeSimSummaries(parts: readonly ShardSummary[]): SimSummary {
  if (parts.length === 0) throw new Error('no summaries to merge')
  const [first] = parts
  const count = first.shard?.count
  const problems: string[] = []
  parts.forEach((p, i) => {
    if (p.schemaVersion !== 1 || !Array.isArray(p.fleets) || p.totals === undefined) problems.push(`summary ${i + 1} is not an iotd sim --json summary`)
    else if (!p.shard) problems.push(`summary ${i + 1} is not a shard (run with --shard i/n or --shards n)`)
    else if (p.shard.count !== count) problems.push(`summary ${i + 1} is shard ${p.shard.index + 1}/${p.shard.count}, the first is of ${count}`)
    else if (p.scenario !== first.scenario || p.seed !== first.seed) problems.push(`summary ${i + 1} ran scenario ${p.scenario} with seed ${p.seed}, the first ${first.scenario} with seed ${first.seed}: not one fleet`)
  })
  if (problems.length > 0) throw new Error(problems.join('; '))
  const indices = parts.map((p) => p.shard!.index)
  const twice = indices.filter((x, i) => indices.indexOf(x) !== i)
  if (twice.length > 0) throw new Error(`shard ${twice[0] + 1}/${count} is given twice`)
  const missing = Array.from({length: count!}, (_, i) => i).filter((i) => !indices.includes(i))

  const fleets = new Map<string, FleetCounters>()
  for (const p of parts) for (const f of p.fleets) fleets.set(f.fleet, addCounters(fleets.get(f.fleet), f))
  const warnings = parts.flatMap((p) => p.warnings.map((w) => `shard ${p.shard!.index + 1}/${count}: ${w}`))
  if (missing.length > 0) warnings.unshift(`shard${missing.length === 1 ? '' : 's'} ${missing.map((i) => `${i + 1}/${count}`).join(', ')} missing: the figures are those of ${parts.length} of ${count} shards`)
  const connectAll = parts.map((p) => p.connectAllMs)
  const errors = parts.flatMap((p) => (p.error ? [`shard ${p.shard!.index + 1}/${count}: ${p.error}`] : []))
  const merged: SimSummary = {
    schemaVersion: 1,
    scenario: first.scenario,
    seed: first.seed,
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
