/**
 * `iotd pipeline` performance harness (issue #4, acceptance 5). A benchmark, not a test: run it by hand and copy
 * the table into perf/RESULTS.md with the date and machine.
 *
 *   node --import tsx perf/pipeline-throughput.ts [csv] [jsonl] [windows] [--rows 1000000] [--runs 3]
 *
 * csv:     a 1,000,000-row, 4-column CSV (ts, deviceId, temp, humidity) -> WHERE + per-device 10 s tumbling avg
 *          -> JSON-lines file, in-process through runPipeline (the csv source, the rule engine, the window, the file
 *          sink). Target: >= 400,000 events/s on one core.
 * jsonl:   the same data as JSON lines through the `file` source.
 * engine:  the same 1,000,000 events already decoded, in memory (batches of 1,024): the rule, window and file sink
 *          alone, so the cost of parsing can be told apart from the cost of the pipeline.
 * analytic: the engine case with lag + zscore per device (RULE_ANALYTIC): what evaluating them on every row costs.
 * windows: 100,000 open keyed windows (one event per key, no window closed yet): RSS growth. Target: < 150 MB.
 */
import {mkdtempSync, rmSync, statSync, createWriteStream} from 'node:fs'
import {once} from 'node:events'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {loadPipeline, runPipeline, NOOP_ACK, type Delivery, type SourceInstance} from '../src/pipeline/index.js'
import {RuleRunner, type OutputRow} from '../src/pipeline/runtime/rule-runner.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {median, machineLine} from './run-figures.js'

const {options, named} = harnessArgs({rows: 1_000_000, runs: 3})
const ROWS = options.rows
const RUNS = options.runs
const chosen = pickCases(named, ['csv', 'jsonl', 'engine', 'analytic', 'windows'])
const want = (c: string) => chosen.includes(c)
const work = mkdtempSync(join(tmpdir(), 'iotd-pipe-perf-'))
const DEVICES = 100

async function writeData(): Promise<void> {
  const csv = createWriteStream(join(work, 'data.csv'))
  const jsonl = createWriteStream(join(work, 'data.jsonl'))
  csv.write('ts,deviceId,temp,humidity\n')
  const t0 = 1_767_225_600_000
  let c = ''
  let j = ''
  for (let i = 0; i < ROWS; i++) {
    const ts = t0 + i
    const dev = `dev-${i % DEVICES}`
    const temp = (20 + ((i * 7919) % 1000) / 50).toFixed(2)
    const hum = (40 + ((i * 104_729) % 400) / 10).toFixed(1)
    c += `${ts},${dev},${temp},${hum}\n`
    j += `{"ts":${ts},"deviceId":"${dev}","temp":${temp},"humidity":${hum}}\n`
    if (i % 10_000 === 9999) {
      if (!csv.write(c)) await once(csv, 'drain')
      if (!jsonl.write(j)) await once(jsonl, 'drain')
      c = ''
      j = ''
    }
  }
  csv.end(c)
  jsonl.end(j)
  await Promise.all([once(csv, 'close'), once(jsonl, 'close')])
}

const RULE = 'SELECT deviceId, avg(temp) AS t, count(*) AS n, window_start() AS ws FROM s WHERE temp > 21 GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)'

async function throughput(source: string): Promise<{eps: number; rows: number; ms: number; cpuPerM: number}> {
  const out = join(work, 'out.jsonl')
  rmSync(out, {force: true})
  const text = `version: 1
sources:
  s: ${source}
rules:
  - sql: ${RULE}
    sinks: [{type: file, path: out.jsonl, format: jsonl, batch: {count: 1000, interval: 1s}}]
`
  const pipeline = loadPipeline(join(work, 'p.yaml'), {text})
  const t = performance.now()
  const cpu0 = process.cpuUsage()
  const s = await runPipeline({pipeline, warn: (m) => process.stderr.write(`${m}\n`)})
  const ms = performance.now() - t
  const cpu = process.cpuUsage(cpu0)
  if (s.error) throw new Error(s.error)
  if (s.eventsIn !== ROWS) throw new Error(`read ${s.eventsIn} of ${ROWS} events`)
  // Process CPU (user + system, every thread: GC helpers and the file sink's writes included), per million rows:
  // the figure that holds when other work shares the machine.
  return {eps: (ROWS * 1000) / ms, rows: s.rules[0].out, ms, cpuPerM: ((cpu.user + cpu.system) / 1e6) * (1e6 / ROWS)}
}

/**
 * lag + zscore on every row (issue #16, acceptance 5): the same rule before the change evaluated them only for rows
 * whose `temp > 30` came out true (short-circuit); now they step on every row. Few rows pass, so the sink costs
 * nearly the same both ways and the difference is the evaluation.
 */
const RULE_ANALYTIC =
  'SELECT deviceId, temp, lag(temp) OVER (PARTITION BY deviceId) AS prev, zscore(temp, 60) OVER (PARTITION BY deviceId) AS z FROM s WHERE temp > 30 AND abs(zscore(temp, 60) OVER (PARTITION BY deviceId)) > 1.6'

async function engine(label = 'engine only (events decoded in memory) -> same rule -> JSONL file', rule = RULE): Promise<void> {
  const t0 = 1_767_225_600_000
  const batches: Delivery[][] = []
  for (let i = 0; i < ROWS; i += 1024) {
    const b: Delivery[] = []
    for (let j = i; j < Math.min(ROWS, i + 1024); j++) {
      const fields = {ts: t0 + j, deviceId: `dev-${j % DEVICES}`, temp: 20 + ((j * 7919) % 1000) / 50, humidity: 40 + ((j * 104_729) % 400) / 10}
      b.push({record: {ts: fields.ts, fields, meta: {source: 's'}}, ack: NOOP_ACK})
    }
    batches.push(b)
  }
  const runs: number[] = []
  const cpuRuns: number[] = []
  for (let r = 0; r < RUNS; r++) {
    const pipeline = loadPipeline(join(work, 'p.yaml'), {
      text: `version: 1\nsources: {s: {type: stdin}}\nrules:\n  - sql: ${rule}\n    sinks: [{type: file, path: out.jsonl, format: jsonl, batch: {count: 1000, interval: 1s}}]\n`,
    })
    const source: SourceInstance = {
      name: 's',
      type: 'memory',
      finite: true,
      source: {
        name: 's',
        async *read() {},
        async *readBatches() {
          yield* batches
        },
        async close() {},
      },
    }
    const t = performance.now()
    const cpu0 = process.cpuUsage()
    const s = await runPipeline({pipeline, sources: [source]})
    const ms = performance.now() - t
    const cpu = process.cpuUsage(cpu0)
    if (s.eventsIn !== ROWS) throw new Error(`engine: ${s.eventsIn} events`)
    runs.push((ROWS * 1000) / ms)
    cpuRuns.push(((cpu.user + cpu.system) / 1e6) * (1e6 / ROWS))
    process.stderr.write(`engine run ${r + 1}: ${Math.round(runs[r]).toLocaleString('en-US')} events/s, ${cpuRuns[r].toFixed(3)} CPU-s per 1 M (${s.rules[0].out} rows out; load ${loadavg()[0].toFixed(1)})\n`)
  }
  console.log(
    `| ${label} | **${Math.round(median(runs)).toLocaleString('en-US')} events/s** median; **${median(cpuRuns).toFixed(2)} CPU-s per 1 M rows** median | ${runs.map((x) => Math.round(x).toLocaleString('en-US')).join('; ')}; CPU-s ${cpuRuns.map((c) => c.toFixed(2)).join('; ')} |`,
  )
}

async function runCase(name: string, source: string): Promise<void> {
  const runs: number[] = []
  const cpus: number[] = []
  let rows = 0
  for (let i = 0; i < RUNS; i++) {
    const r = await throughput(source)
    runs.push(r.eps)
    cpus.push(r.cpuPerM)
    rows = r.rows
    process.stderr.write(`${name} run ${i + 1}: ${Math.round(r.eps).toLocaleString('en-US')} events/s (${(r.ms / 1000).toFixed(2)} s, ${r.cpuPerM.toFixed(2)} CPU-s per 1 M rows, ${rows} rows out; load ${loadavg()[0].toFixed(1)})\n`)
  }
  console.log(
    `| ${name}: ${ROWS.toLocaleString('en-US')} rows -> WHERE + per-device 10 s tumbling avg -> JSONL file | **${Math.round(median(runs)).toLocaleString('en-US')} events/s** median; **${median(cpus).toFixed(2)} CPU-s per 1 M rows** median | ${runs.map((r) => Math.round(r).toLocaleString('en-US')).join('; ')}; CPU-s ${cpus.map((c) => c.toFixed(2)).join('; ')} (${rows} window rows) |`,
  )
}

function openWindows(): void {
  const pipeline = loadPipeline(join(work, 'w.yaml'), {
    text: `version: 1\nsources: {s: {type: stdin, timestamp: ts}}\nrules: [{sql: "SELECT deviceId, avg(temp) AS t, max(temp) AS hi, count(*) AS n FROM s GROUP BY deviceId, TUMBLINGWINDOW(mi, 5)"}]\n`,
  })
  const rule = pipeline.rules[0]
  const runner = new RuleRunner({name: 'w', plan: rule.plan, tables: pipeline.tables})
  const gc = (globalThis as {gc?: () => void}).gc
  gc?.()
  const before = process.memoryUsage()
  const out: OutputRow[] = []
  const N = 100_000
  for (let i = 0; i < N; i++) {
    const fields = {ts: 1_767_225_600_000 + (i % 1000), deviceId: `device-${i}`, temp: 20 + (i % 10)}
    runner.process({ts: fields.ts, fields, meta: {source: 's'}}, {timestamp: fields.ts}, undefined, out)
  }
  gc?.()
  const after = process.memoryUsage()
  const stats = runner.stats()
  if (stats.openWindows !== N) throw new Error(`expected ${N} open windows, got ${stats.openWindows}`)
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1)
  console.log(
    `| 100,000 open keyed windows (5 min tumbling, avg/max/count, one event each) | **${mb(after.rss - before.rss)} MB** RSS growth (heap +${mb(after.heapUsed - before.heapUsed)} MB; process RSS ${mb(after.rss)} MB) | ${gc ? 'after gc()' : 'run with --expose-gc for a settled figure'} |`,
  )
}

console.error(`${machineLine()}; data in ${work}`)
if (want('csv') || want('jsonl')) {
  const t = performance.now()
  await writeData()
  console.error(`wrote ${ROWS} rows (${(statSync(join(work, 'data.csv')).size / 1e6).toFixed(1)} MB CSV) in ${((performance.now() - t) / 1000).toFixed(1)} s`)
}
console.log('| case | result | runs |\n|---|---|---|')
if (want('csv')) await runCase('csv source', '{type: csv, path: data.csv, format: mapped, timeColumn: ts, timeFormat: epoch-ms, topic: "perf/{deviceId}", payloadColumns: [deviceId, temp, humidity]}')
if (want('jsonl')) await runCase('file source (JSON lines)', '{type: file, path: data.jsonl, layout: payload, timestamp: ts}')
if (want('engine')) await engine()
if (want('analytic')) await engine('engine only: lag + zscore (partitioned) with WHERE temp > 30 AND abs(zscore) > 1.6 -> JSONL file', RULE_ANALYTIC)
if (want('windows')) openWindows()
rmSync(work, {recursive: true, force: true})
