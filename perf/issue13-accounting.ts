/**
 * The figures of issue #13's accounting fixes (items 3, 6, 16), in one command. A benchmark, not a test: run it on a
 * quiet machine and copy what it prints into perf/RESULTS.md with the date, machine and load average (printed with
 * each case).
 *
 *   npm run build && node --import tsx perf/issue13-accounting.ts [backfill] [csv-mapped] [lint] [--runs 3]
 *     [--hours 6] [--rows 1000000]
 *
 * backfill    `iotd sim scenarios/smart-factory.yaml --backfill` of --hours (seed 7) into a CSV: rows/s, CPU-s of
 *             the process, the output's sha256 (the same in every run and before/after a change: byte-identical
 *             backfills), and whether Node printed a warning (MaxListenersExceededWarning before the fix).
 * csv-mapped  the replay's reader over --rows rows in three shapes, in process: iotd's capture format, a mapped CSV
 *             with a time column, and mqtt-recorder's format (topic cell with levels, per-row qos and retain columns,
 *             times since the previous row): rows/s and CPU-s per 1 M rows, so the new columns' cost shows.
 * lint        `iotd sim lint` of a scenario with a structural and two cross-field problems (all reported in one
 *             pass): wall time of the whole process.
 */
import {createHash} from 'node:crypto'
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {CsvSource, csvSourceOptions, type CsvSourceOptions} from '../src/pipeline/sources/csv.js'
import {toolContext} from '../src/tools/context.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {median, loadNow} from './run-figures.js'
import {runTimedCli} from './timed-cli.js'
import {writeRowsFile} from './row-files.js'

const {options, named} = harnessArgs({runs: 3, hours: 6, rows: 1_000_000})
const work = mkdtempSync(join(tmpdir(), 'iotd-perf-13-'))
const {runs} = options
const load = loadNow

async function backfill(): Promise<void> {
  const {hours} = options
  const from = Date.UTC(2026, 0, 1)
  const range = `${new Date(from).toISOString()}..${new Date(from + hours * 3_600_000).toISOString()}`
  const rates: number[] = []
  const cpu: number[] = []
  const sums = new Set<string>()
  for (let r = 0; r < runs; r++) {
    const out = join(work, `backfill-${r}.csv`)
    const labels = join(work, `labels-${r}.jsonl`)
    const run = await runTimedCli(['sim', 'scenarios/smart-factory.yaml', '--backfill', range, '--out', out, '--seed', '7', '--labels', labels, '--force', '--json'])
    if (run.code !== 0) throw new Error(`backfill failed: ${run.stderr}`)
    const s = JSON.parse(run.stdout) as {rows: number; elapsedMs: number; labels: number}
    const sha = createHash('sha256').update(readFileSync(out)).digest('hex')
    sums.add(sha)
    rates.push(s.rows / (s.elapsedMs / 1000))
    if (run.cpuSeconds !== undefined) cpu.push(run.cpuSeconds)
    const warned = /Warning/.test(run.stderr)
    console.log(`backfill run ${r + 1}: ${s.rows} rows, ${s.labels} labels in ${(s.elapsedMs / 1000).toFixed(2)} s = ${Math.round(rates[r])} rows/s; process ${((run.cpuSeconds ?? 0)).toFixed(2)} CPU-s, ${(run.wallMs / 1000).toFixed(2)} s wall; sha256 ${sha.slice(0, 16)}; Node warning printed: ${warned ? 'yes' : 'no'}; ${load()}`)
  }
  console.log(`backfill median: ${Math.round(median(rates))} rows/s, ${median(cpu).toFixed(2)} CPU-s for ${hours} h of smart-factory; ${sums.size === 1 ? 'every run byte-identical' : `${sums.size} different outputs!`}`)
}

async function readRows(path: string, options: Partial<CsvSourceOptions>): Promise<{rows: number; ms: number; cpuSeconds: number}> {
  const source = new CsvSource('perf', csvSourceOptions.parse({path, ...options}))
  const ctx = toolContext(new AbortController().signal)
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  let rows = 0
  for await (const batch of source.readBatches(ctx)) rows += batch.length
  const cpu = process.cpuUsage(cpu0)
  return {rows, ms: performance.now() - t0, cpuSeconds: (cpu.user + cpu.system) / 1e6}
}

async function csvMapped(): Promise<void> {
  const {rows} = options
  const write = (name: string, header: string, line: (i: number) => string) => writeRowsFile(join(work, name), header, rows, line)
  const payload = (i: number) => `"{""seq"": ${i}, ""temp"": ${(20 + (i % 50) / 10).toFixed(1)}}"`
  const shapes: Array<[string, string, Partial<CsvSourceOptions>]> = [
    ['capture', write('capture.csv', 'ts,topic,qos,retain,encoding,payload\n', (i) => `${1767225600000 + i},plant/line${i % 10}/dev${i % 100},1,0,utf8,${payload(i)}\n`), {}],
    ['mapped (time, device, temp)', write('logger.csv', 'time,device,temp\n', (i) => `${1767225600000 + i},dev${i % 100},${(20 + (i % 50) / 10).toFixed(1)}\n`), {topic: 'plant/{device}'}],
    [
      'mqtt-recorder (topic, payload, qos, retain, time, delta)',
      write('recorder.csv', '', (i) => `plant/line${i % 10}/dev${i % 100},${payload(i)},1,${i % 7 === 0 ? 'True' : 'False'},${1767225600 + i / 1000},0.001\n`),
      {header: false, columns: ['topic', 'payload', 'qos', 'retain', 'time', 'delta'], topic: '{topic}', payloadColumn: 'payload', qosColumn: 'qos', retainColumn: 'retain', timeColumn: 'delta', timeFormat: 'relative-s'},
    ],
  ]
  for (const [name, file, options] of shapes) {
    const rates: number[] = []
    const cpu: number[] = []
    for (let r = 0; r < runs; r++) {
      const s = await readRows(file, options)
      if (s.rows !== rows) throw new Error(`${name}: read ${s.rows} of ${rows} rows`)
      rates.push(s.rows / (s.ms / 1000))
      cpu.push((s.cpuSeconds * 1e6) / rows)
    }
    console.log(`csv-mapped ${name}: median ${Math.round(median(rates))} rows/s, ${median(cpu).toFixed(2)} CPU-s per 1 M rows (${runs} runs of ${rows}); ${load()}`)
  }
}

async function lint(): Promise<void> {
  const walls: number[] = []
  for (let r = 0; r < runs; r++) {
    const run = await runTimedCli(['sim', 'lint', 'test/fixtures/scenarios/one-pass.yaml'])
    const problems = run.stderr.split('\n').filter((l) => l.includes('one-pass.yaml:')).length
    walls.push(run.wallMs)
    console.log(`lint run ${r + 1}: exit ${run.code}, ${problems} problems reported, ${Math.round(run.wallMs)} ms wall; ${load()}`)
  }
  console.log(`lint median: ${Math.round(median(walls))} ms`)
}

const all: Record<string, () => Promise<void>> = {backfill, 'csv-mapped': csvMapped, lint}
for (const name of pickCases(named, Object.keys(all))) await all[name]()
