/**
 * What the harnesses read off their runs: another process's CPU time and resident memory (Linux /proc, so a child
 * such as `iotd sim` or mosquitto is measured from outside, all its threads included), and the median of the runs.
 */
import {readFileSync} from 'node:fs'

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
