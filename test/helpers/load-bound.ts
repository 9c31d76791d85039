import {readFileSync} from 'node:fs'
import {availableParallelism, loadavg} from 'node:os'

/**
 * Time bounds for a shared machine. On a machine with more runnable threads than cores, each one gets its share of
 * the CPU and waits its turn for the rest: work takes about (runnable per core) times as long and a wake-up comes
 * that much later. So a bound is widened in proportion to that figure, smoothly: at 1.85 runnable per core a 20 ms
 * bound becomes 37 ms (a fixed factor of 10 or more would let a 20 ms bound pass at 380 ms, and assert nothing).
 */

export interface MachineLoad {
  /** The 1-minute load average (runnable and uninterruptible threads, averaged). */
  average: number
  /**
   * Threads runnable (/proc/stat procs_running, this one included) over the last few seconds: the count that 1 in 20
   * samples reached or passed, or the count now if larger; NaN where it cannot be read.
   */
  runnable: number
  cores: number
}

export function currentLoad(): MachineLoad {
  const now = procsRunning()
  const recent = recentRunnable()
  return {average: loadavg()[0], runnable: Number.isFinite(recent) ? Math.max(recent, now) : now, cores: availableParallelism()}
}

/*
 * Why sample: a test asserts its bound after the run, and the load at that instant is not the load the run met. A
 * p99 is made by the worst 1 % of the run, so a burst of a neighbour's threads for a second of it shows in the figure
 * while the 1-minute average has hardly moved and the count at the end is back to normal. So the count of runnable
 * threads is sampled every 50 ms over the last 10 s, and a bound follows the level reached in 5 % of those samples.
 */
const SAMPLE_EVERY_MS = 50
const SAMPLES_KEPT = 200
const samples: number[] = []
// Sampling starts when a test file imports this helper, so the first bound it asks for covers its first run. The
// timer must never keep a test process alive.
setInterval(() => {
  const n = procsRunning()
  if (!Number.isFinite(n)) return
  samples.push(n)
  if (samples.length > SAMPLES_KEPT) samples.shift()
}, SAMPLE_EVERY_MS).unref()

function recentRunnable(): number {
  if (samples.length === 0) return Number.NaN
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length * 0.95)]
}

/**
 * How many times slower than a quiet machine this one runs now (>= 1): runnable threads per core, the larger of
 * the 1-minute average (the run behind us) and the count over the last seconds (load that began or burst within the
 * last minute, which the average shows only in part). Divide counts expected per wall second by it; multiply times by it.
 */
export function loadSlowdown(load: MachineLoad = currentLoad()): number {
  const runnable = Number.isFinite(load.runnable) ? Math.max(load.average, load.runnable) : load.average
  return Math.max(1, runnable / Math.max(1, load.cores))
}

/**
 * A time bound that holds on a quiet machine, widened in proportion to the load ({@link loadSlowdown}) so a test
 * asserts iotd's figure and not its neighbours'. Says on stderr when it widens.
 */
export function loadAwareBound(quietMs: number, load: MachineLoad = currentLoad()): number {
  const slowdown = loadSlowdown(load)
  if (slowdown <= 1) return quietMs
  const widened = Math.ceil(quietMs * slowdown)
  process.stderr.write(
    `NOTICE: ${slowdown.toFixed(2)} runnable threads per core (load average ${load.average.toFixed(1)}, ${load.runnable} running in the last seconds, ${load.cores} cores): timing bound ${quietMs} ms widened to ${widened} ms\n`,
  )
  return widened
}

function procsRunning(): number {
  try {
    const m = /^procs_running (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))
    return m ? Number(m[1]) : Number.NaN
  } catch {
    return Number.NaN
  }
}
