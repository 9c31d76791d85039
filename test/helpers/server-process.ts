/**
 * A private server process per test suite or perf run (influxd, nats-server): its own temp dir, OS-assigned ports
 * (retried on a new port when another process grabbed it first), a readiness probe, and stop by PID (SIGTERM, then
 * SIGKILL after 10 s). Every process started here is also killed when the test process exits, so a failed run
 * leaves nothing behind. No vitest here: perf/ uses it too.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {freePort} from './ports.js'

export interface ServerProcess {
  /** The temp dir holding config, data and log. */
  dir: string
  /** The ports the server listens on (as handed to `args`). */
  ports: number[]
  readonly pid: number
  readonly running: boolean
  /** SIGTERM, wait for exit (SIGKILL after 10 s). The data dir stays (start() again brings the same data back). */
  halt(): Promise<void>
  /** Starts again on the same ports with the same data. */
  start(): Promise<void>
  /** SIGKILL by PID (a crash). */
  kill(): void
  /** halt() and remove the temp dir. */
  stop(): Promise<void>
  log(): string
}

export interface ServerProcessOptions {
  binary: string
  /** Prefix of the temp dir (include the test's name: iotd-sinks-influxd-). */
  prefix: string
  /** How many ports to allocate. */
  portCount: number
  /** Writes any config into `dir` and returns the arguments. */
  args(dir: string, ports: number[]): string[]
  /** Resolves true once the server answers. */
  ready(ports: number[]): Promise<boolean>
  readyTimeoutMs?: number
}

const live = new Set<ChildProcess>()
let exitHookInstalled = false

/** Path of a binary (PATH first, then the given candidates), or null when it is not installed. */
export function findBinary(name: string, candidates: string[]): string | null {
  try {
    const found = execFileSync('sh', ['-c', `command -v ${name}`], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
    if (found) return found
  } catch {
    // not on PATH
  }
  return candidates.find((p) => existsSync(p)) ?? null
}

export async function startServerProcess(o: ServerProcessOptions): Promise<ServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), o.prefix))
  const logPath = join(dir, 'server.log')
  let ports: number[] = []
  let child: ChildProcess | undefined
  let output = ''

  const launch = async (): Promise<void> => {
    const proc = spawn(o.binary, o.args(dir, ports), {stdio: ['ignore', 'pipe', 'pipe']})
    const keep = (d: Buffer) => {
      output += d.toString()
      if (output.length > 200_000) output = output.slice(-100_000)
    }
    proc.stdout?.on('data', keep)
    proc.stderr?.on('data', keep)
    trackChild(proc)
    child = proc
    const deadline = Date.now() + (o.readyTimeoutMs ?? 20_000)
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break
      if (await o.ready(ports).catch(() => false)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    await stopChild(proc)
    const text = output + readLog(logPath)
    throw Object.assign(new Error(`${o.binary} did not start on ports ${ports.join(', ')}: ${text.trim().split('\n').slice(-5).join(' | ')}`), {
      portTaken: /address already in use/i.test(text),
    })
  }

  for (let attempt = 0; ; attempt++) {
    ports = []
    while (ports.length < o.portCount) {
      const p = await freePort()
      if (!ports.includes(p)) ports.push(p)
    }
    try {
      await launch()
      break
    } catch (error) {
      if (attempt >= 3 || !(error as {portTaken?: boolean}).portTaken) {
        rmSync(dir, {recursive: true, force: true})
        throw error
      }
    }
  }

  const halt = async () => {
    if (child) await stopChild(child)
  }
  return {
    dir,
    get ports() {
      return ports
    },
    get pid() {
      return child?.pid ?? -1
    },
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null
    },
    halt,
    start: launch,
    kill() {
      if (child?.pid !== undefined) signalPid(child.pid, 'SIGKILL')
    },
    async stop() {
      await halt()
      rmSync(dir, {recursive: true, force: true})
    },
    log: () => output + readLog(logPath),
  }
}

/**
 * Registers a child so it is killed when the test process exits (the last resort for a failed run). Shared with
 * mosquitto-process.ts.
 */
export function trackChild(child: ChildProcess): void {
  installExitHook()
  live.add(child)
  child.once('exit', () => live.delete(child))
}

/**
 * SIGTERM by PID and wait for the exit; SIGKILL after `hardMs`. A paused (SIGSTOPped) process is continued first, or
 * it could not act on SIGTERM.
 */
export function stopChild(child: ChildProcess, hardMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
    live.delete(child)
    return Promise.resolve()
  }
  return new Promise((resolve) => {
    const pid = child.pid as number
    const hard = setTimeout(() => signalPid(pid, 'SIGKILL'), hardMs)
    child.once('exit', () => {
      clearTimeout(hard)
      live.delete(child)
      resolve()
    })
    signalPid(pid, 'SIGCONT')
    signalPid(pid, 'SIGTERM')
  })
}

export function signalPid(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

export function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return ''
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of live) if (child.pid !== undefined) signalPid(child.pid, 'SIGKILL')
  })
}
