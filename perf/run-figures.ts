/**
 * What the harnesses read off their runs: another process's CPU time and resident memory (Linux /proc, so a child
 * such as `iotd sim` or mosquitto is measured from outside, all its threads included), and the median of the runs.
 */
import {readFileSync} from 'node:fs'
import {cpus, loadavg} from 'node:os'

/** USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every Linux build these harnesses run on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100

/** User + system CPU seconds a process has used so far; undefined when it cannot be read (no pid, gone, not Linux). */
export function procCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After the parenthesised command name (which may hold spaces), utime and stime are the 12th and 13th fields.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/** A process's resident memory now (VmRSS), bytes; undefined when it cannot be read. */
export function procRssBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb === undefined ? undefined : Number(kb) * 1024
  } catch {
    return undefined
  }
}

/** The middle of the runs (of an even count, the upper of the two middle ones: always a figure that was measured). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * The textbook median: of an even count, the mean of the two middle values. Figures that are not finite (a run that
 * had none) are left out; NaN when none is left. bench-throughput and publish-frames print this one.
 */
export function meanMedian(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const mid = v.length >> 1
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2
}

/** Where a table's figures were taken, printed once: `load average 1.2 0.9 0.7; machine: 2 × AMD EPYC, node v20.20.2`. */
export const machineLine = (): string => `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}; machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`

/** The load beside each run's figures: `load 1.2 on 2 cores`. */
export const loadNow = (): string => `load ${loadavg()[0].toFixed(1)} on ${cpus().length} cores`

/** The processor's model name as /proc/cpuinfo gives it, for a harness's title line. */
export const cpuModel = (): string => readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown cpu'
