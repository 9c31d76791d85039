import {spawn, type ChildProcessByStdio} from 'node:child_process'
import {createServer} from 'node:net'
import type {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {afterEach, describe, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/mqtt-connection.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const runner = fileURLToPath(new URL('./broker-command-runner.ts', import.meta.url))

type Proc = ChildProcessByStdio<null, Readable, Readable>
const started: Proc[] = []
afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.pid) process.kill(p.pid, 'SIGKILL')
})

function runBroker(args: string[]): {proc: Proc; firstLine: Promise<string>; exit: Promise<{code: number | null; stdout: string; stderr: string}>} {
  const proc = spawn(process.execPath, ['--import', 'tsx', runner, ...args], {cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, NO_COLOR: '1'}})
  started.push(proc)
  let stdout = ''
  let stderr = ''
  const firstLine = new Promise<string>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0])
    })
    proc.once('exit', () => reject(new Error(`broker exited before printing its URL: ${stderr}`)))
  })
  // Tests that expect a failure never await the URL; keep its rejection from going unhandled.
  firstLine.catch(() => {})
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exit = new Promise<{code: number | null; stdout: string; stderr: string}>((resolve) => proc.once('exit', (code) => resolve({code, stdout, stderr})))
  return {proc, firstLine, exit}
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

describe('iotd broker', () => {
  it('prints its URL on stdout, serves MQTT, and exits 130 on SIGINT after freeing the port', async () => {
    const {proc, firstLine, exit} = runBroker(['--port', '0'])
    const url = await firstLine
    expect(url).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/)
    const client = await connectOnce({url, clientId: 'cli-test'})
    const closed = new Promise<void>((r) => client.once('close', () => r()))
    proc.kill('SIGINT')
    const {code, stdout, stderr} = await exit
    await closed
    expect(code).toBe(130)
    expect(stdout).toBe(`${url}\n`)
    expect(stderr).toContain(`listening on ${url}`)
    expect(stderr).toContain('SIGINT: broker stopped (1 client disconnected)')
    expect(await canBind(Number(new URL(url).port))).toBe(true)
  })

  it('--json prints {schemaVersion, url, host, port} at start; SIGTERM also exits 130', async () => {
    const {proc, firstLine, exit} = runBroker(['--port', '0', '--json'])
    const json = JSON.parse(await firstLine) as {schemaVersion: number; url: string; host: string; port: number}
    expect(json).toEqual({schemaVersion: 1, url: `mqtt://127.0.0.1:${json.port}`, host: '127.0.0.1', port: json.port})
    proc.kill('SIGTERM')
    const {code, stdout} = await exit
    expect(code).toBe(130)
    expect(stdout.trim().split('\n')).toHaveLength(1)
  })

  it('fails with exit 1 and a hint when the port is taken', async () => {
    const blocker = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as {port: number}).port
    const {exit} = runBroker(['--port', String(port)])
    const {code, stderr} = await exit
    await new Promise((r) => blocker.close(r))
    expect(code).toBe(1)
    expect(stderr).toContain(`Error: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`)
    expect(stderr).toContain('--port 0')
  })
})
