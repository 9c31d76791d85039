/**
 * A pipeline's state directory: the last committed checkpoint (operator state + where the input log must be
 * replayed from + finite-source positions), the input log segments after it, and a lock so two runs of one
 * pipeline never share it.
 *
 * Plain files, no database: the log is append-only and read only at a restart, the checkpoint is one blob replaced
 * atomically (write to a temporary file, fsync, rename, fsync the directory). Both are exactly what a file does
 * well, and no native module has to build on the user's machine.
 */
import {existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {open, rename} from 'node:fs/promises'
import {homedir} from 'node:os'
import {join, resolve} from 'node:path'
import {deserialize, serialize} from 'node:v8'
import {performance} from 'node:perf_hooks'
import {IotdError, EXIT_CODES} from '../../errors.js'
import {InputLog, listSegments, readLog, segmentPath, type FsyncPolicy, type LoggedBatch} from './input-log.js'

export const CHECKPOINT_FILE = 'checkpoint.v8'
const LOCK_FILE = 'lock'

/**
 * The checkpoint format. 2: windows of tumbling and hopping rules as columns, a window's last row cut to what
 * emitting it reads (runtime/saved-rows.ts). A checkpoint of another version is refused with --reset-state as the
 * way out: its windows cannot be read into this version's operators.
 */
export const CHECKPOINT_VERSION = 2

export interface Checkpoint {
  version: typeof CHECKPOINT_VERSION
  pipeline: string
  /** Per rule (and `sources`): a hash of what shapes its state, to refuse a restore into a changed pipeline. */
  fingerprints: Record<string, string>
  createdAt: number
  /** The first input-log segment not covered by this checkpoint. */
  replayFrom: number
  /** Finite sources: deliveries already taken (skipped on restart). */
  positions: Record<string, number>
  /** Resumable sources that keep how their run started (Source.startState). */
  starts?: Record<string, unknown>
  /** Per rule: RuleRunner.snapshot() data. */
  rules: Record<string, unknown>
}

/** The default state directory of a pipeline: $IOTD_STATE_DIR, else $XDG_STATE_HOME/iotd/pipelines, else ~/.local/state/iotd/pipelines; then the pipeline's name. */
export function defaultStateDir(pipelineName: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  const base = env.IOTD_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'iotd', 'pipelines')
  return resolve(base, pipelineName.replace(/[^A-Za-z0-9_.-]/g, '_'))
}

/** The checkpoint file's bytes (v8 serialization: typed-array columns go in as memory copies). */
export function encodeCheckpoint(cp: Checkpoint): Buffer {
  return serialize(cp)
}

/** The saved checkpoint of `dir`, whatever its version (StateStore refuses one it cannot restore). */
export function readCheckpoint(dir: string): Checkpoint | undefined {
  const file = join(dir, CHECKPOINT_FILE)
  if (!existsSync(file)) return undefined
  let cp: Checkpoint
  try {
    cp = deserialize(readFileSync(file)) as Checkpoint
  } catch (e) {
    throw new IotdError(`the checkpoint ${file} cannot be read (${(e as Error).message})`, EXIT_CODES.usage, [RESET_HINT])
  }
  return cp
}

const RESET_HINT = 'run with --reset-state to discard the saved windows, function state and unreplayed input (or `iotd pipeline state reset <file>`)'

/** What `iotd pipeline state show` prints. */
export interface StateInfo {
  dir: string
  exists: boolean
  lockedBy?: number
  checkpoint?: {createdAt: string; bytes: number; replayFrom: number; positions: Record<string, number>; rules: string[]}
  log: {segments: number; bytes: number; batches: number; records: number; tornFrames: number}
}

export function describeState(dir: string): StateInfo {
  const exists = existsSync(dir)
  const info: StateInfo = {dir, exists, log: {segments: 0, bytes: 0, batches: 0, records: 0, tornFrames: 0}}
  if (!exists) return info
  const pid = lockHolder(dir)
  if (pid !== undefined) info.lockedBy = pid
  const cp = readCheckpoint(dir)
  if (cp) {
    info.checkpoint = {
      createdAt: new Date(cp.createdAt).toISOString(),
      bytes: statSync(join(dir, CHECKPOINT_FILE)).size,
      replayFrom: cp.replayFrom,
      positions: cp.positions,
      rules: Object.keys(cp.rules),
    }
  }
  const segments = listSegments(dir).filter((n) => !cp || n >= cp.replayFrom)
  info.log.segments = segments.length
  for (const n of segments) info.log.bytes += statSync(segmentPath(dir, n)).size
  const torn = {torn: 0}
  for (const b of readLog(dir, cp?.replayFrom ?? 0, torn)) {
    info.log.batches++
    info.log.records += b.records.length
  }
  info.log.tornFrames = torn.torn
  return info
}

/** Deletes a pipeline's saved state; refuses while a run holds it. Returns whether there was anything. */
export function resetState(dir: string): boolean {
  if (!existsSync(dir)) return false
  const pid = lockHolder(dir)
  if (pid !== undefined) throw new IotdError(`the state in ${dir} is in use by a running pipeline (pid ${pid}); stop it first`, EXIT_CODES.runtime)
  rmSync(dir, {recursive: true, force: true})
  return true
}

/** State directories held by runs in this process (a lock file naming our own pid says nothing about which run). */
const heldHere = new Set<string>()

function lockHolder(dir: string): number | undefined {
  if (heldHere.has(resolve(dir))) return process.pid
  let pid: number
  try {
    pid = Number(readFileSync(join(dir, LOCK_FILE), 'utf8').trim())
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return undefined
  try {
    process.kill(pid, 0)
    return pid
  } catch (e) {
    // EPERM: alive but someone else's; ESRCH: gone (a killed run leaves its lock behind).
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined
  }
}

export interface StateStoreOptions {
  dir: string
  fsync: FsyncPolicy
  /** Discard whatever is saved before starting (--reset-state). */
  reset?: boolean
  pipelineName: string
  fingerprints: Record<string, string>
}

export class StateStore {
  readonly dir: string
  readonly checkpoint?: Checkpoint
  readonly log: InputLog
  /** The first segment a restart replays (the segments this run writes come after all of them). */
  private readonly replayFrom: number
  private locked = false
  private closed = false
  private commits: Promise<void> = Promise.resolve()
  lastCheckpoint?: {bytes: number; ms: number; at: number}
  checkpoints = 0

  constructor(opts: StateStoreOptions) {
    this.dir = opts.dir
    if (opts.reset) resetState(opts.dir)
    mkdirSync(opts.dir, {recursive: true})
    const holder = lockHolder(opts.dir)
    if (holder !== undefined) {
      throw new IotdError(`the state in ${opts.dir} is in use by another run of this pipeline (pid ${holder}); give this run its own --state-dir`, EXIT_CODES.runtime)
    }
    writeFileSync(join(opts.dir, LOCK_FILE), `${process.pid}\n`)
    heldHere.add(resolve(opts.dir))
    this.locked = true
    let cp: Checkpoint | undefined
    try {
      cp = readCheckpoint(opts.dir)
    } catch (e) {
      this.unlock()
      throw e
    }
    if (cp && cp.version !== CHECKPOINT_VERSION) {
      this.unlock()
      throw new IotdError(
        `the saved state in ${opts.dir} has checkpoint format ${String(cp.version)} (of ${new Date(cp.createdAt).toISOString()}); this iotd reads format ${CHECKPOINT_VERSION} only, so its windows cannot be restored.`,
        EXIT_CODES.usage,
        [RESET_HINT, 'or finish the run with the iotd version that wrote it'],
      )
    }
    if (cp) {
      const changed = Object.keys({...cp.fingerprints, ...opts.fingerprints}).filter((k) => cp.fingerprints[k] !== opts.fingerprints[k])
      if (changed.length > 0) {
        this.unlock()
        const what = changed.map((k) => (k === 'sources' ? 'the sources (names, event-time or key fields)' : `rule "${k}"`)).join(', ')
        throw new IotdError(
          `the saved state in ${opts.dir} was made by a different version of this pipeline: ${what} changed since its checkpoint of ${new Date(cp.createdAt).toISOString()}. ` +
            'Restoring windows into a changed rule would mix two rules\' results.',
          EXIT_CODES.usage,
          [RESET_HINT, 'or run the pipeline file that made the state'],
        )
      }
      this.checkpoint = cp
    }
    const segments = listSegments(opts.dir)
    const next = (segments.at(-1) ?? 0) + 1
    this.replayFrom = cp?.replayFrom ?? 0
    this.log = new InputLog(opts.dir, opts.fsync, next)
  }

  /** The logged input a restart replays on top of the checkpoint, oldest first. */
  *replay(stats?: {torn: number}): Generator<LoggedBatch> {
    yield* readLog(this.dir, this.replayFrom, stats)
  }

  /**
   * Writes a serialized Checkpoint atomically (temporary file, fsync, rename, fsync of the directory), then deletes
   * the log segments it covers (before `replayFrom`). Asynchronous: the fsyncs do not stop the pipeline.
   */
  commit(body: Buffer, replayFrom: number): Promise<void> {
    // One at a time, in order, and none once the store is cleared or closed (they share the temporary file).
    const run = this.commits.then(() => (this.closed ? undefined : this.write(body, replayFrom)))
    this.commits = run.catch(() => undefined)
    return run
  }

  private async write(body: Buffer, replayFrom: number): Promise<void> {
    const t0 = performance.now()
    const tmp = join(this.dir, `${CHECKPOINT_FILE}.tmp`)
    const fh = await open(tmp, 'w')
    try {
      await fh.writeFile(body)
      await fh.sync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(this.dir, CHECKPOINT_FILE))
    const dirFh = await open(this.dir, 'r')
    try {
      await dirFh.sync()
    } finally {
      await dirFh.close()
    }
    this.log.deleteBefore(replayFrom)
    this.checkpoints++
    this.lastCheckpoint = {bytes: body.length, ms: performance.now() - t0, at: Date.now()}
  }

  /** The run is complete (every finite source read to its end and drained): nothing is left to resume. */
  async clear(): Promise<void> {
    await this.commits
    this.closed = true
    this.log.close()
    rmSync(join(this.dir, CHECKPOINT_FILE), {force: true})
    this.log.deleteBefore(Infinity)
  }

  async close(): Promise<void> {
    await this.commits
    this.closed = true
    this.log.close()
    this.unlock()
  }

  private unlock(): void {
    if (!this.locked) return
    this.locked = false
    heldHere.delete(resolve(this.dir))
    rmSync(join(this.dir, LOCK_FILE), {force: true})
  }
}
