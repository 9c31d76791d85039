import {describe, expect, it} from 'vitest'
import {startCli} from '../helpers/cli.js'

/** iotd broker on its own: where it listens, and what it says about who can reach it. */

async function startAndStop(args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  const cli = startCli(['broker', '--port', '0', ...args])
  const deadline = Date.now() + 15_000
  while (!/^mqtt:\/\/\S+:\d+$/m.test(cli.stdout()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  // The note (and any warning) follows the URL on stderr.
  while (!cli.stderr().includes('Ctrl-C to stop') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  process.kill(cli.pid, 'SIGTERM')
  return cli.exited
}

describe('iotd broker', () => {
  it('warns on stderr that it takes anyone when it listens beyond loopback, and not on loopback', async () => {
    const open = await startAndStop(['--host', '0.0.0.0'])
    expect(open.code, open.stderr).toBe(130)
    expect(open.stdout).toMatch(/^mqtt:\/\/0\.0\.0\.0:\d+$/m)
    expect(open.stderr).toMatch(/warning: listening on 0\.0\.0\.0 without authentication: anyone who can reach port \d+ of this machine can connect/)
    const local = await startAndStop([])
    expect(local.code, local.stderr).toBe(130)
    expect(local.stderr).not.toContain('warning')
  }, 40_000)
})
