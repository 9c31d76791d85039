import {spawn} from 'node:child_process'
import {fileURLToPath} from 'node:url'

/** Runs the built CLI (bin/run.js) as a user would, with pipes for stdout/stderr. */

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const RUN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

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
      env: {...process.env, FORCE_COLOR: undefined, ...opts.env},
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
