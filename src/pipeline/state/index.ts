/**
 * Pipeline state: the input log and checkpoints (see store.ts and input-log.ts), and where a run keeps them.
 */
import {isAbsolute, resolve} from 'node:path'
import type {LoadedPipeline} from '../config/load.js'
import type {FsyncPolicy} from './input-log.js'
import {defaultStateDir, describeState, type StateInfo} from './store.js'

export {CHECKPOINT_VERSION, describeState, defaultStateDir, encodeCheckpoint, resetState, readCheckpoint, StateStore, type Checkpoint, type StateInfo} from './store.js'
export {InputLog, readLog, type FsyncPolicy} from './input-log.js'

/** Where and how often a run keeps its state (runPipeline's `state`). */
export interface RunStateOptions {
  dir: string
  intervalMs: number
  fsync: FsyncPolicy
  /** Discard the saved state first (--reset-state). */
  reset?: boolean
}

export interface StateFlags {
  /** --state-dir: this directory exactly (overrides state.path). */
  stateDir?: string
  /** --no-state */
  disabled?: boolean
  /** --reset-state */
  reset?: boolean
  env?: Readonly<Record<string, string | undefined>>
}

/** The state directory of a pipeline: --state-dir, else `state.path` of the file, else the default per pipeline name. */
export function stateDirOf(pipeline: LoadedPipeline, flags: StateFlags = {}): string {
  const cfg = pipeline.config.state
  if (flags.stateDir) return resolve(flags.stateDir)
  if (cfg && cfg.path) return isAbsolute(cfg.path) ? cfg.path : resolve(pipeline.baseDir, cfg.path)
  return defaultStateDir(pipeline.name, flags.env)
}

/** The state options of `pipeline run`: on unless the file says `state: false` or --no-state is given. */
export function runStateOptions(pipeline: LoadedPipeline, flags: StateFlags = {}): RunStateOptions | undefined {
  const cfg = pipeline.config.state
  if (flags.disabled || cfg === false) return undefined
  return {dir: stateDirOf(pipeline, flags), intervalMs: cfg?.interval ?? 5000, fsync: cfg?.fsync ?? 'everysec', reset: flags.reset}
}

export function formatStateInfo(info: StateInfo): string {
  const lines = [`state: ${info.dir}`]
  if (!info.exists) return `${lines[0]} (none saved: the next run starts empty)\n`
  if (info.lockedBy !== undefined) lines.push(`  in use by pid ${info.lockedBy}`)
  const cp = info.checkpoint
  if (cp) {
    lines.push(`  checkpoint: ${cp.createdAt} (${cp.bytes} bytes), rules: ${cp.rules.join(', ') || '(none)'}`)
    const pos = Object.entries(cp.positions)
    if (pos.length > 0) lines.push(`  source positions: ${pos.map(([k, v]) => `${k} ${v}`).join(', ')}`)
  } else lines.push('  checkpoint: none')
  lines.push(`  input log to replay: ${info.log.records} records in ${info.log.batches} batches, ${info.log.segments} segment(s), ${info.log.bytes} bytes${info.log.tornFrames > 0 ? `, ${info.log.tornFrames} torn frame(s) at the end` : ''}`)
  return `${lines.join('\n')}\n`
}

export function stateInfoOf(pipeline: LoadedPipeline, flags: StateFlags = {}): StateInfo {
  return describeState(stateDirOf(pipeline, flags))
}
