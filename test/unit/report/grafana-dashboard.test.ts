/**
 * deploy/grafana/iotd-dashboard.json reads metrics that exist: every iotd_* name in a panel query is one that sim,
 * bench, record, replay or pipeline run serves (rendered here from their own families), and every panel has a query.
 */
import {readFileSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import type {BenchSnapshot} from '../../../src/bench/run-bench.js'
import {prometheusText} from '../../../src/pipeline/metrics-text.js'
import type {PipelineSummary} from '../../../src/pipeline/index.js'
import {benchFamilies, simFamilies} from '../../../src/report/prometheus-families.js'
import {recordFamilies, replayFamilies} from '../../../src/tools/prometheus.js'
import {emptyCounters, type SimSnapshot} from '../../../src/sim/types.js'
import {ROOT} from '../../helpers/cli.js'

const lat = {count: 3, min: 1, mean: 2, p50: 2, p90: 3, p99: 4, p999: 5, max: 6}
const sim = {elapsedMs: 1000, broker: 'mqtt://x', fleets: [{...emptyCounters('f'), msgRate: 1}], totals: {...emptyCounters('all'), msgRate: 1}, publishLag: lat, ackLatency: lat, stage: 'steady'} as unknown as SimSnapshot
const counts = {planned: 1, sent: 1, sentTotal: 1, acked: 1, dropped: 0, late: 0, errors: 0, received: 1, distinct: 1, duplicates: 0, reordered: 0, foreign: 0, holes: 0, connected: 1, attempts: 1}
const bench = {mode: 'e2e', headline: 'latency', counts, clients: {connected: 1, total: 1}, sentPerSec: 1, cumulative: lat, health: {cpuPercent: 1, rssBytes: 1, eventLoopLagP99Ms: 1, cores: 2}} as unknown as BenchSnapshot
const pipeline: PipelineSummary = {
  schemaVersion: 1,
  pipeline: 'p',
  stoppedBy: 'end-of-input',
  interrupted: false,
  elapsedMs: 1,
  eventsIn: 1,
  eventsPerSecond: 1,
  sources: [{name: 's', type: 'mqtt', records: 1, deadLettered: 0, futureRejected: 0, ended: true}],
  rules: [{name: 'r', in: 1, filtered: 0, rejected: 0, out: 1, empty: 0, lateDropped: 0, windowsFired: 1, openWindows: 0, futureRejected: 0, mapDropped: 0}],
  sinks: [{name: 'k', type: 'file', rule: 'r', rows: 1, written: 1, batches: 1, retries: 0, deadLettered: 0, dropped: 0, queued: 0, maxQueued: 1, latencyP50Ms: 1, latencyP99Ms: 1}],
  deadLetter: {count: 0, byStage: {}},
  droppedAtShutdown: {openWindows: 0, queuedRows: 0},
}

function served(): Set<string> {
  const texts = [
    simFamilies('s', sim),
    benchFamilies(bench),
    recordFamilies({received: 1, messages: 1, bytes: 1, file: 'x', elapsedMs: 1}),
    replayFamilies({rows: 1, published: 1, skipped: 0, outOfOrder: 0, notSent: 0, connection: {losses: 0, outageMs: 0, retried: 0}} as unknown as Parameters<typeof replayFamilies>[0]),
    prometheusText(pipeline),
  ]
  return new Set(texts.flatMap((t) => [...t.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1])))
}

interface Panel {
  type: string
  title: string
  targets?: {expr: string}[]
  panels?: Panel[]
}

describe('the Grafana dashboard', () => {
  const dashboard = JSON.parse(readFileSync(`${ROOT}/deploy/grafana/iotd-dashboard.json`, 'utf8')) as {panels: Panel[]; templating: {list: {query?: string}[]}}
  const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row')
  const names = served()

  it('queries only metrics iotd serves', () => {
    const queries = [...panels.flatMap((p) => (p.targets ?? []).map((t) => ({where: p.title, expr: t.expr}))), ...dashboard.templating.list.filter((v) => v.query?.includes('iotd_')).map((v) => ({where: 'variable', expr: v.query!}))]
    const unknown = queries.flatMap((q) => [...q.expr.matchAll(/\biotd_[a-z0-9_]+/g)].map((m) => m[0]).filter((n) => !names.has(n)).map((n) => `${q.where}: ${n}`))
    expect(unknown).toEqual([])
    expect(queries.length).toBeGreaterThan(15)
  })

  it('has a query in every panel and covers every command', () => {
    expect(panels.filter((p) => !(p.targets?.length))).toEqual([])
    const text = JSON.stringify(dashboard)
    for (const cmd of ['sim', 'bench', 'pipeline', 'record', 'replay']) expect(text).toContain(`iotd_${cmd}_`)
  })

  it('fails on a name that does not exist (the check can fail)', () => {
    expect(names.has('iotd_sim_messages_published_total')).toBe(true)
    expect(names.has('iotd_sim_messages_sent_total')).toBe(false)
  })
})
