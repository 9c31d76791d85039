/**
 * The loops issue #11's last slice made one (sim/simulated-streams.ts under `sim --backfill` and the pipeline's sim
 * source; the one MQTT variable byte integer reader under PacketStream), measured in the built trees given, side
 * by side. A benchmark, not a test: run it by hand; medians of --runs, wall and CPU time (CPU is the figure to
 * read on a shared machine).
 *
 *   npm run build    # in each tree
 *   node --import tsx perf/house-loops.ts [backfill] [sim-source] [packets] [--runs 5] [--hours 3] [--packets 2000000] \
 *                            [--tree /path/to/other/iotd ...]
 *
 * Without --tree it measures this tree; each --tree adds a column (e.g. a worktree of the commit before, built:
 * `git worktree add /tmp/before 0a12c52 && cd /tmp/before && ln -s /work/main/node_modules . && npm run build`).
 *
 * backfill:   smart-factory.yaml, seed 7, --hours of simulated time -> CSV capture in a temp dir (rows/s).
 * sim-source: the same streams through the pipeline's `sim` source, batches consumed and dropped (messages/s).
 * packets:    --packets QoS 0 PUBLISH frames (200 B payload: a 2-byte Remaining Length) split by PacketStream from
 *             64 KiB chunks (packets/s).
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {harnessArgs, pickCases} from './harness-args.js'
import {median} from './run-figures.js'

const {options, named} = harnessArgs({runs: 5, hours: 3, packets: 2_000_000, tree: [] as string[]})
const trees = options.tree.map((tree) => resolve(tree))
if (trees.length === 0) trees.push(resolve(import.meta.dirname, '..'))
const RUNS = options.runs
const HOURS = options.hours
const PACKETS = options.packets
const FROM = Date.UTC(2026, 0, 1)

const load = (tree: string, path: string) => import(pathToFileURL(join(tree, 'dist', path)).href)

interface Figure {
  count: number
  wallMs: number
  cpuMs: number
}

async function measure(run: () => Promise<number>): Promise<Figure> {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  const count = await run()
  const wallMs = performance.now() - t0
  const used = process.cpuUsage(cpu)
  return {count, wallMs, cpuMs: (used.user + used.system) / 1000}
}

async function backfill(tree: string): Promise<number> {
  const {loadScenario, expandDevices} = await load(tree, 'sim/scenario/index.js')
  const {runBackfill} = await load(tree, 'sim/backfill.js')
  const scenario = {...loadScenario(join(tree, 'scenarios/smart-factory.yaml')), seed: 7}
  const dir = mkdtempSync(join(tmpdir(), 'iotd-house-perf-'))
  try {
    const summary = await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs: FROM + HOURS * 3_600_000, out: join(dir, 'out.csv'), format: 'csv'})
    return summary.rows
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

async function simSource(tree: string): Promise<number> {
  const {simSource: source} = await load(tree, 'pipeline/sources/sim.js')
  const opts = source.options.parse({scenario: 'smart-factory.yaml', from: FROM, duration: `${HOURS}h`, seed: 7})
  const instance = source.create(opts, 'perf', {baseDir: join(tree, 'scenarios'), env: process.env})
  let n = 0
  for await (const batch of instance.readBatches({signal: new AbortController().signal})) n += batch.length
  return n
}

async function packets(tree: string): Promise<number> {
  const {PacketStream} = await load(tree, 'net/mqtt-wire.js')
  const topic = Buffer.from('bench/1')
  const body = Buffer.concat([Buffer.from([0, topic.length]), topic, Buffer.alloc(200, 7)])
  // Remaining Length 209: two variable-byte-integer bytes.
  const one = Buffer.concat([Buffer.from([0x30, (body.length & 0x7f) | 0x80, body.length >> 7]), body])
  const perChunk = Math.floor(65_536 / one.length)
  const chunk = Buffer.concat(Array.from({length: perChunk}, () => one))
  const stream = new PacketStream()
  let seen = 0
  const onPacket = () => seen++
  // Chunks that end mid-packet too: offset the chunk boundaries by a few bytes every other push.
  const cut = Math.floor(one.length / 2)
  const a = chunk.subarray(0, chunk.length - cut)
  const b = Buffer.concat([chunk.subarray(chunk.length - cut), chunk.subarray(0, chunk.length - cut)])
  const tail = chunk.subarray(chunk.length - cut)
  let pushed = 0
  stream.push(a, onPacket)
  while (pushed < PACKETS) {
    stream.push(b, onPacket)
    pushed += perChunk
  }
  stream.push(tail, onPacket)
  return seen
}

const CASES: Array<[string, string, (tree: string) => Promise<number>]> = [
  ['backfill', 'rows/s', backfill],
  ['sim-source', 'messages/s', simSource],
  ['packets', 'packets/s', packets],
]
const chosen = pickCases(named, CASES.map(([name]) => name))

console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${RUNS} runs per case and tree, one after the other, trees alternated`)
for (const [name, unit, run] of CASES) {
  if (!chosen.includes(name)) continue
  const figures = new Map<string, Figure[]>(trees.map((t) => [t, []]))
  await run(trees[0]) // warm-up: module loading and JIT
  for (let r = 0; r < RUNS; r++) for (const tree of trees) figures.get(tree)!.push(await measure(() => run(tree)))
  for (const tree of trees) {
    const fs = figures.get(tree)!
    const rate = median(fs.map((f) => f.count / (f.wallMs / 1000)))
    const cpuPerM = median(fs.map((f) => (f.cpuMs / 1000) * (1_000_000 / f.count)))
    console.log(`${name.padEnd(11)} ${tree.padEnd(32)} ${fs[0].count.toLocaleString('en-US')} per run  median ${Math.round(rate).toLocaleString('en-US')} ${unit}  CPU ${cpuPerM.toFixed(3)} s per million  (runs: ${fs.map((f) => Math.round(f.count / (f.wallMs / 1000)).toLocaleString('en-US')).join(' / ')})`)
  }
}
