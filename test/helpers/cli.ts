import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** Runs the built CLI (bin/run.js) as a user would, with pipes for stdout/stderr. */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

/**
 * Pipelines keep checkpoints in a state directory per pipeline name; runs started by tests keep theirs in a temp
 * dir of the test process, so they neither see a user's state nor each other's (the same example file runs in
 * several suites at once).
 */
const TEST_STATE_DIR = mkdtempSync(join(tmpdir(), 'iotd-test-state-'))

function cliEnv(extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {...process.env, FORCE_COLOR: undefined, IOTD_STATE_DIR: process.env.IOTD_STATE_DIR ?? TEST_STATE_DIR, ...extra}
}

export interface StartedCli {
  child: ChildProcess
  pid: number
  /** stdout and stderr so far. */
  stdout(): string
  stderr(): string
  exited: Promise<CliResult>
}

/** Starts the built CLI and returns at once (for tests that signal or kill it while it runs). */
export function startCli(args: string[], opts: {env?: NodeJS.ProcessEnv} = {}): StartedCli {
  const child = spawn(process.execPath, [RUN, ...args], {cwd: ROOT, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout, stderr}))
  })
  return {child, pid: child.pid!, stdout: () => stdout, stderr: () => stderr, exited}
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
  /** Called once stdout or stderr contains this text (e.g. to send SIGINT). */
  onOutput?: {match: RegExp; then: (pid: number) => void}
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN, ...args], {
      cwd: ROOT,
      env: cliEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let fired = false
    const check = () => {
      if (!fired && opts.onOutput && opts.onOutput.match.test(stdout + stderr) && child.pid) {
        fired = true
        opts.onOutput.then(child.pid)
      }
    }
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      check()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      check()
    })
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`iotd ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, opts.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({code, signal, stdout, stderr})
    })
  })
}
