import {execFileSync} from 'node:child_process'
import {existsSync, rmSync} from 'node:fs'

/**
 * A program in a real terminal: a detached tmux session of fixed size on a private server socket, read back with
 * capture-pane as a person would see it. Only our own session (and its socket file) is ever removed.
 */

export const TMUX = '/usr/bin/tmux'
export const tmuxAvailable = existsSync(TMUX)

export interface TmuxSession {
  screen(): string
  /** Polls the screen until `ready` holds; returns that screen, or fails with the last one seen. */
  waitForScreen(ready: (text: string) => boolean, timeoutMs?: number): Promise<string>
  sendKeys(...keys: string[]): void
  kill(): void
}

export function startTmux(opts: {name: string; columns: number; rows: number; cwd: string; command: string}): TmuxSession {
  const socket = `iotd-${opts.name}-${process.pid}-${Date.now().toString(36)}`
  const tmux = (...args: string[]) => execFileSync(TMUX, ['-L', socket, ...args], {encoding: 'utf8'})
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', opts.name, '-x', String(opts.columns), '-y', String(opts.rows), '-c', opts.cwd, 'sh', '-c', opts.command)
  const socketPath = tmux('display-message', '-p', '-t', opts.name, '#{socket_path}').trim()
  const screen = () => tmux('capture-pane', '-p', '-t', opts.name)
  return {
    screen,
    async waitForScreen(ready, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs
      let last = ''
      while (Date.now() < deadline) {
        last = screen()
        if (ready(last)) return last
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
      throw new Error(`screen never got ready; last screen:\n${last}`)
    },
    sendKeys: (...keys) => void tmux('send-keys', '-t', opts.name, ...keys),
    kill() {
      try {
        tmux('kill-session', '-t', opts.name)
      } finally {
        // the server exits with its last session; its socket file is ours to remove
        rmSync(socketPath, {force: true})
      }
    },
  }
}
