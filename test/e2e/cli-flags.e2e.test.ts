import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, runCli} from '../helpers/cli.js'

/** Flag mistakes a user makes at the terminal: each is a usage error (exit 2) that says what to type instead. */

describe('a duration flag without a unit', () => {
  it('is refused by bench and sim (it ran a 5 ms bench and exited 0), before anything connects', async () => {
    // An address nothing listens on: the refusal must come before any connection attempt.
    const bench = await runCli(['bench', '--broker', 'mqtt://127.0.0.1:1', '-d', '5'])
    expect(bench.code, bench.stderr).toBe(2)
    expect(bench.stderr).toContain('--duration 5: give a unit: 5s, 5m, 5ms')
    const sim = await runCli(['sim', join(ROOT, 'scenarios/smart-building.yaml'), '--broker', 'mqtt://127.0.0.1:1', '--duration', '30'])
    expect(sim.code, sim.stderr).toBe(2)
    expect(sim.stderr).toContain('--duration 30: give a unit: 30s, 30m, 30ms')
    const timeout = await runCli(['modbus', 'read', '127.0.0.1:1', '--address', '40001', '--timeout', '500'])
    expect(timeout.code, timeout.stderr).toBe(2)
    expect(timeout.stderr).toContain('--timeout 500: give a unit')
  })
})

describe('a misspelled flag or flag value', () => {
  it('gets a did-you-mean from the flags and options the command has, exit 2', async () => {
    const one = await runCli(['bench', '--thresold', 'p(99)<5ms'])
    expect(one.code, one.stderr).toBe(2)
    expect(one.stderr).toContain('Nonexistent flag: --thresold (did you mean --threshold?)')
    const two = await runCli(['bench', '--thresold=p(99)<5ms', '--durration', '5s'])
    expect(two.code, two.stderr).toBe(2)
    expect(two.stderr).toContain('(--thresold: did you mean --threshold?; --durration: did you mean --duration?)')
    const type = await runCli(['modbus', 'read', '127.0.0.1:1', '--address', '40001', '-t', 'flaot32'])
    expect(type.code, type.stderr).toBe(2)
    expect(type.stderr).toContain('(did you mean --type float32?)')
    const json = await runCli(['modbus', 'read', '127.0.0.1:1', '--address', '40001', '--order', 'cdab', '--json'])
    expect(json.code).toBe(2)
    expect((JSON.parse(json.stdout) as {error: {message: string}}).error.message).toContain('(did you mean --order CDAB?)')
    // Nothing close: oclif's words alone.
    const far = await runCli(['bench', '--zzzzzz'])
    expect(far.code).toBe(2)
    expect(far.stderr).not.toContain('did you mean')
  })
})
