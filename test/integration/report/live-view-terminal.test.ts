import {execFile} from 'node:child_process'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {afterAll, describe, expect, it} from 'vitest'
import {startTmux, tmuxAvailable, type TmuxSession} from '../../helpers/tmux.js'

/*
 * The sim reporter in real terminals and pipes: the demo fixture drives createSimReporter with fake snapshots,
 * in a detached tmux session of fixed size (a real TTY, read back with capture-pane as a person would see it) and
 * through plain pipes. Every tmux command goes to a private server socket, and only our session is killed.
 */

const repo = fileURLToPath(new URL('../../..', import.meta.url))
const demo = fileURLToPath(new URL('../../fixtures/report/live-sim-demo.ts', import.meta.url))
const run = promisify(execFile)

const words = (line: string | undefined) => (line ?? '').trim().split(/\s+/)

describe.skipIf(!tmuxAvailable)('live view in a 120x30 tmux terminal', () => {
  let term: TmuxSession | undefined
  afterAll(() => term?.kill())

  it('shows the table and figures while running, and the summary after Ctrl-C', async () => {
    // Ink decides about CI when it loads: the child must not inherit a CI variable from the test runner. The shell
    // catches SIGINT (so Ctrl-C reaches only the demo, whose handlers are reset on exec), then prints its exit code.
    const demoCommand = `env -u CI -u CONTINUOUS_INTEGRATION node --import tsx ${JSON.stringify(demo)}`
    const command = `trap : INT; ${demoCommand}; echo "[exited $?]"; exec sleep 60`
    term = startTmux({name: 'live-view', columns: 120, rows: 30, cwd: repo, command})

    const live = await term.waitForScreen((s) => s.includes('Ctrl-C to stop') && /stage steady/.test(s) && /^robot-arm/m.test(s))
    const lines = live.split('\n')
    const at = (prefix: string) => lines.find((l) => l.startsWith(prefix))

    expect(lines).toContain('· output mode interactive')
    expect(lines).toContain('⚠ broker closed 1 connection (press-0007), reconnecting')
    // the live area is drawn once, not stacked frame after frame
    expect(lines.filter((l) => l.startsWith('iotd sim  smart-factory  → mqtt://plant-broker:1883'))).toHaveLength(1)
    expect(at('iotd sim')).toBe('iotd sim  smart-factory  → mqtt://plant-broker:1883  stage steady')
    expect(at('fleet')).toMatch(/^fleet +connected +msg\/s +published +errors +reconnects +late +dropped$/)
    const press = words(at('press'))
    expect(press.slice(0, 2)).toEqual(['press', '24/24'])
    expect(press[2]).toMatch(/^█+$/)
    expect(press[3]).toBe('24.0')
    const robot = words(at('robot-arm'))
    expect(robot[3]).toBe('40.0')
    const seconds = Number(robot[4]) / 40 // robot-arm publishes 40 msg/s in the demo
    expect(Number.isInteger(seconds) && seconds >= 3).toBe(true)
    expect(robot.slice(5)).toEqual(['0', '0', String(3 * seconds), '0'])
    expect(words(at('total')).slice(0, 2)).toEqual(['total', '84/84'])
    expect(at('publish lag')).toBe('publish lag  p50 800µs  p99 3.2ms  max 9.6ms    qos≥1 ack  p50 2.5ms  p99 10.0ms')
    expect(at('client')).toBe('client       cpu 12%  rss 98 MiB  loop lag p99 2.1ms')
    expect(at('msg/s')).toMatch(/^msg\/s +[▁-█]+ {2}84\.0 now {2}peak 84\.0$/)
    expect(lines.find((l) => /^\d+s \/ 20s/.test(l))).toMatch(/^\d+(\.\d+)?s \/ 20s {2}[\u2588-\u258f]*░* {2}\d+%$/)

    term.sendKeys('C-c')
    const done = await term.waitForScreen((s) => s.includes('[exited '))
    expect(done).toMatch(/^\[exited 130\]$/m)
    expect(done).toMatch(/^ {2}⚠ interrupted after \d+(\.\d+)?s — partial summary$/m)
    expect(done).toContain('iotd sim  smart-factory  seed 42  broker mqtt://plant-broker:1883 (embedded)')
    expect(done).toMatch(/^ {2}total +84\/84 +1,680 /m)
    // the live area is gone; the log lines printed above it stay
    expect(done).not.toContain('Ctrl-C to stop')
    expect(done).toContain('· stage steady')
  })
})

describe('plain and json output through pipes', () => {
  const node = (args: string[]) =>
    run(process.execPath, ['--import', 'tsx', demo, ...args], {cwd: repo, timeout: 20_000, env: {...process.env, FORCE_COLOR: undefined}})

  it('picks plain lines by itself when stdout is a pipe, without any escape codes', async () => {
    const {stdout, stderr} = await node(['--ticks', '3'])
    expect(stdout + stderr).not.toContain('\x1b[')
    const progress = stderr.split('\n').filter((l) => l.startsWith('sim '))
    // Three ticks, then the closing line with the summary's totals.
    expect(progress).toHaveLength(4)
    expect(progress[2]).toMatch(/^sim 3s\/20s {2}steady {2}84\/84 connected {2}84\.0 msg\/s/)
    expect(progress[3]).toMatch(/ 1,680 published .* run ended$/)
    expect(stderr).toContain('output mode plain')
    expect(stdout.startsWith('iotd sim  smart-factory  seed 42')).toBe(true)
    expect(stdout).toContain('publish lag   p50 800µs')
  })

  it('prints only JSON on stdout in json mode', async () => {
    const {stdout, stderr} = await node(['json', '--ticks', '2'])
    const summary = JSON.parse(stdout) as {schemaVersion: number; scenario: string; interrupted: boolean}
    expect(summary).toMatchObject({schemaVersion: 1, scenario: 'smart-factory', interrupted: false})
    expect(stderr).toBe('warn: broker closed 1 connection (press-0007), reconnecting\n')
  })
})
