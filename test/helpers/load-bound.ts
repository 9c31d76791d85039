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
  /** Threads runnable right now (/proc/stat procs_running, this one included); NaN where it cannot be read. */
  runnable: number
  cores: number
}

export function currentLoad(): MachineLoad {
  return {average: loadavg()[0], runnable: procsRunning(), cores: availableParallelism()}
}

/**
 * How many times slower than a quiet machine this one runs now (>= 1): runnable threads per core, the larger of
 * the 1-minute average (the run behind us) and the count right now (load that began within the last minute, which
 * the average shows only in part). Divide counts expected per wall second by it; multiply times by it.
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
    `NOTICE: ${slowdown.toFixed(2)} runnable threads per core (load average ${load.average.toFixed(1)}, ${load.runnable} running now, ${load.cores} cores): timing bound ${quietMs} ms widened to ${widened} ms\n`,
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
