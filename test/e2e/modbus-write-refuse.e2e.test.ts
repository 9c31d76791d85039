import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'

/**
 * A value its register cannot hold is refused before any connection is made (exit 2): the target is a port
 * nothing listens on, so a write that got as far as connecting would exit 1 with "connection refused" instead.
 */
describe('iotd modbus write refuses what the register cannot hold', () => {
  it('a string longer than --length bytes (it was cut to "LINE" and exited 0)', async () => {
    const target = `127.0.0.1:${await freePort()}`
    const long = await runCli(['modbus', 'write', target, '--address', '40001', '--type', 'string', '--length', '4', '--value', 'LINE-12'])
    expect(long.code, long.stderr).toBe(2)
    expect(long.stderr).toContain('"LINE-12" is 7 bytes (UTF-8), more than --length 4 holds; nothing was written')
  }, 30_000)
})
