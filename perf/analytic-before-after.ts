/**
 * Issue #16, acceptance 5, in one command: analytic functions stepped on every row (eKuiper's model, this tree)
 * against the old short-circuit evaluation (the commit before the change), side by side. Each round runs
 * perf/pipeline-throughput.ts in both trees, one after the other, as separate processes: `engine analytic` (lag +
 * zscore per device, WHERE temp > 30 AND abs(zscore) > 1.6) and `engine` (WHERE + keyed tumbling avg, which must not
 * change). Prints medians of CPU-seconds per 1 M rows (user + system of the whole process during the run; the figure
 * that holds when other work shares the machine) and of events/s.
 *
 *   node --import tsx perf/analytic-before-after.ts [--rounds 3] [--rows 1000000] [--before /path/to/worktree]
 *
 * The "before" tree is a git worktree of BEFORE (made on first use, node_modules linked from this tree); this
 * tree's harness (with the perf modules it imports) is copied into it, so both sides run the same measurement code.
 */
import {execFileSync, spawnSync} from 'node:child_process'
import {copyFileSync, existsSync, symlinkSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {harnessOptions} from './harness-args.js'
import {median} from './run-figures.js'

/** The last commit with the short-circuit evaluation (the next one on main is 139022b, "eKuiper's evaluation model"). */
const BEFORE = '7692ad8'
const here = join(import.meta.dirname, '..')
const {rounds, rows, before} = harnessOptions({rounds: 3, rows: '1000000', before: join(tmpdir(), `iotd-before-${BEFORE}`)})

if (!existsSync(join(before, 'package.json'))) {
  execFileSync('git', ['-C', here, 'worktree', 'add', '--detach', before, BEFORE], {stdio: 'inherit'})
}
if (!existsSync(join(before, 'node_modules'))) symlinkSync(join(here, 'node_modules'), join(before, 'node_modules'))
for (const file of ['perf/pipeline-throughput.ts', 'perf/harness-args.ts', 'perf/run-figures.ts']) copyFileSync(join(here, file), join(before, file))

interface Figure {
  eps: number
  cpu: number
}

/** One process, one run of `kase`; the harness prints "engine run 1: N events/s, X CPU-s per 1 M". */
function measure(tree: string, kase: string): Figure {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'perf/pipeline-throughput.ts', kase, '--rows', rows, '--runs', '1'], {cwd: tree, encoding: 'utf8'})
  const m = /engine run 1: ([\d,]+) events\/s, ([\d.]+) CPU-s per 1 M/.exec(r.stderr)
  if (r.status !== 0 || !m) throw new Error(`${tree} ${kase}: exit ${r.status}\n${r.stderr}`)
  return {eps: Number(m[1].replace(/,/g, '')), cpu: Number(m[2])}
}

const cases = [
  ['analytic', 'lag(temp) + zscore(temp, 60) per device, WHERE temp > 30 AND abs(zscore) > 1.6'],
  ['engine', 'WHERE temp > 21 + per-device 10 s tumbling avg (must not change)'],
] as const
const results = new Map<string, {before: Figure[]; after: Figure[]; loads: number[]}>()
for (const [kase] of cases) results.set(kase, {before: [], after: [], loads: []})
for (let i = 0; i < rounds; i++) {
  for (const [kase] of cases) {
    const r = results.get(kase)!
    r.loads.push(loadavg()[0])
    // Alternate which side goes first, so a load that changes during a round does not always favour one side.
    const order = i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)
    for (const side of order) r[side].push(measure(side === 'before' ? before : here, kase))
    process.stderr.write(`round ${i + 1} ${kase}: before ${r.before.at(-1)!.cpu.toFixed(3)} CPU-s, after ${r.after.at(-1)!.cpu.toFixed(3)} CPU-s per 1 M (load ${loadavg()[0].toFixed(1)})\n`)
  }
}
console.log(`| case (${Number(rows).toLocaleString('en-US')} rows, engine only, median of ${rounds}) | before (${BEFORE}) | after | after / before (CPU) |`)
console.log('|---|---|---|---|')
for (const [kase, label] of cases) {
  const r = results.get(kase)!
  const b = median(r.before.map((f) => f.cpu))
  const a = median(r.after.map((f) => f.cpu))
  const fmt = (fs: Figure[]) => `**${median(fs.map((f) => f.cpu)).toFixed(3)} CPU-s per 1 M**, ${Math.round(median(fs.map((f) => f.eps))).toLocaleString('en-US')} events/s (CPU-s ${fs.map((f) => f.cpu.toFixed(3)).join('; ')})`
  console.log(`| ${label} | ${fmt(r.before)} | ${fmt(r.after)} | **${((a / b - 1) * 100).toFixed(1)} %** (load ${Math.min(...r.loads).toFixed(1)}–${Math.max(...r.loads).toFixed(1)}) |`)
}
