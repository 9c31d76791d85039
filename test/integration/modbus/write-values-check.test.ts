import {createServer, type Server} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {UsageError} from '../../../src/errors.js'
import {writeValues} from '../../../src/tools/modbus-inspect.js'

/**
 * writeValues checks every holding-register value itself, before connecting, so any caller (not only the
 * `modbus write` command) gets a refusal instead of a clamped, rounded or cut value on the device. The listener
 * counts connections: a refused write must not open one.
 */
describe('writeValues refuses what a holding register cannot hold, before connecting', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
    server = undefined
  })

  it.each([
    [{type: 'int16' as const, values: ['70000']}, '--value 70000 is outside int16 -32768..32767; nothing was written'],
    [{type: 'uint16' as const, values: ['1.7']}, '--value 1.7 is not an integer: int16/uint16 take whole numbers; nothing was written'],
    [{type: undefined, values: ['5', '-1']}, '--value -1 is outside uint16 0..65535; nothing was written'],
    [{type: 'string' as const, length: 4, values: ['LINE-12']}, '--value "LINE-12" is 7 bytes (UTF-8), more than --length 4 holds; nothing was written'],
  ])('%o', async (req, message) => {
    let connections = 0
    server = createServer((socket) => {
      connections++
      socket.destroy()
    })
    const port = await new Promise<number>((resolve) => server!.listen(0, '127.0.0.1', () => resolve((server!.address() as {port: number}).port)))
    const write = writeValues({host: '127.0.0.1', port, unit: 1, table: 'holding', address: '0', order: 'ABCD', timeoutMs: 500, ...req})
    await expect(write).rejects.toThrow(message)
    await expect(write).rejects.toBeInstanceOf(UsageError)
    expect(connections).toBe(0)
  })
})
