/**
 * The built CLI (bin/run.js) run as a user runs it, under GNU time when /usr/bin/time is installed, so a harness
 * knows what the whole process cost: CPU seconds (user + system, every thread) and peak RSS. What GNU time writes
 * is taken out of stderr, which is left as the CLI wrote it.
 */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {fileURLToPath} from 'node:url'
import {procCpuSeconds} from './run-figures.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RUN = join(ROOT, 'bin/run.js')
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined
/** The line GNU time appends (its -f format), and the one it adds before it when the command exits non-zero. */
const TIME_LINE = /^IOTD_MAXRSS_KB (\d+) IOTD_CPU ([\d.]+) ([\d.]+)\n?/m
const TIME_STATUS_LINE = /^Command (exited with non-zero status \d+|terminated by signal \d+)\n/m

export interface TimedRun {
  code: number | null
  stdout: string
  stderr: string
  /** Lines written to stdout (counted even when they are not kept). */
  lines: number
  wallMs: number
  /** User + system CPU seconds of the whole process; undefined without GNU time. */
  cpuSeconds?: number
  /** Peak resident memory, KiB; undefined without GNU time. */
  maxRssKb?: number
}

export interface TimedCliOptions {
  /** false: count stdout's lines without keeping them (a flood of output). */
  keepStdout?: boolean
  /** Called with all of stderr so far each time more arrives (e.g. to wait for "subscribed to"). */
  onStderr?: (stderr: string) => void
}

function start(args: string[], opts: TimedCliOptions, ownGroup: boolean): {done: Promise<TimedRun>; pid: number | undefined} {
  const started = performance.now()
  const command = TIME ? [TIME, '-f', 'IOTD_MAXRSS_KB %M IOTD_CPU %U %S', process.execPath] : [process.execPath]
  const child = spawn(command[0], [...command.slice(1), RUN, ...args], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: ownGroup})
  let stdout = ''
  let stderr = ''
  let lines = 0
  child.stdout.on('data', (d: Buffer) => {
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++
    if (opts.keepStdout !== false) stdout += d.toString()
  })
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
    opts.onStderr?.(stderr)
  })
  const done = new Promise<TimedRun>((resolve) =>
    child.on('close', (code) => {
      const wallMs = performance.now() - started
      const t = TIME_LINE.exec(stderr)
      const own = t ? stderr.replace(TIME_LINE, '').replace(TIME_STATUS_LINE, '') : stderr
      resolve({code, stdout, stderr: own, lines, wallMs, cpuSeconds: t ? Number(t[2]) + Number(t[3]) : undefined, maxRssKb: t ? Number(t[1]) : undefined})
    }),
  )
  return {done, pid: child.pid}
}

/** Runs the CLI to its end. */
export function runTimedCli(args: string[], opts: TimedCliOptions = {}): Promise<TimedRun> {
  return start(args, opts, false).done
}

/**
 * Starts the CLI in a process group of its own and returns at once, with `kill` to signal it while it runs: GNU time
 * ignores SIGINT while its child runs, so the signal goes to the group.
 */
export function startTimedCli(args: string[], opts: TimedCliOptions = {}): {done: Promise<TimedRun>; kill: (signal: NodeJS.Signals) => void} {
  const {done, pid} = start(args, opts, true)
  return {done, kill: (signal) => pid && process.kill(-pid, signal)}
}

export interface SampledCli {
  pid: number | undefined
  kill(signal: NodeJS.Signals): void
  /** User + system CPU seconds of the process at the last sample (0 before the first). */
  cpuSeconds(): number
  /** cpuSeconds is the last sample's: up to 100 ms short of the whole run. */
  done: Promise<{code: number | null; stdout: string; stderr: string; cpuSeconds: number}>
}

/**
 * Starts the CLI without GNU time and samples its CPU seconds from /proc every 100 ms while it runs: for a harness
 * that reads the figure while the process is still going, or compares runs measured the same way.
 */
export function startSampledCli(args: string[]): SampledCli {
  const child = spawn(process.execPath, [RUN, ...args], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  let cpu = 0
  // Once the process is gone nothing more is read: the last figure stands.
  const sampler = setInterval(() => (cpu = procCpuSeconds(child.pid) ?? cpu), 100)
  const done = new Promise<{code: number | null; stdout: string; stderr: string; cpuSeconds: number}>((resolve) =>
    child.on('close', (code) => {
      clearInterval(sampler)
      resolve({code, stdout, stderr, cpuSeconds: cpu})
    }),
  )
  return {pid: child.pid, kill: (signal) => child.kill(signal), cpuSeconds: () => cpu, done}
}
