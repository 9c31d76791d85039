/**
 * `--out influxdb=URL` when InfluxDB is not there at the start of a run: a peer that is down is a runtime failure
 * (exit 1) after the retries the broker check also makes, with the socket's reason in words; only a URL no server
 * could answer on is a usage error (exit 2). Real sockets on OS-assigned ports, no mocks.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {startInfluxOutput} from '../../../src/cli/influx-output.js'
import {IotdError} from '../../../src/errors.js'

/** A port nothing listens on: the OS hands one out, and it is closed again. */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
  const {port} = s.address() as AddressInfo
  await new Promise<void>((ok) => s.close(() => ok()))
  return port
}

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise<void>((ok) => s.close(() => ok()))
})

describe('startInfluxOutput with InfluxDB away', () => {
  it('an InfluxDB that is down: retried with backoff, then exit 1 naming "connection refused"', {timeout: 30_000}, async () => {
    const port = await freePort()
    const warnings: string[] = []
    const error = await startInfluxOutput({url: `http://127.0.0.1:${port}`, database: 'iotd'}, ['run'], (m) => warnings.push(m)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IotdError)
    expect((error as IotdError).exitCode).toBe(1)
    expect((error as IotdError).message).toBe(`--out influxdb: gave up reaching InfluxDB at http://127.0.0.1:${port} after 5 attempts: connection refused (ECONNREFUSED: nothing is listening there)`)
    expect(warnings).toHaveLength(4)
    expect(warnings[0]).toMatch(/^influxdb check 1\/5 failed \(connection refused \(ECONNREFUSED: nothing is listening there\)\); retrying in \d+ms$/)
  })

  it('an InfluxDB that comes up during the retries is used', {timeout: 30_000}, async () => {
    const port = await freePort()
    const requests: string[] = []
    const server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url?.split('?')[0]}`)
      req.resume()
      req.on('end', () => res.writeHead(req.url?.startsWith('/ping') ? 204 : 200, {'content-type': 'application/json'}).end(req.url?.startsWith('/query') ? '{"results":[{}]}' : ''))
    })
    servers.push(server)
    const warnings: string[] = []
    const out = await startInfluxOutput({url: `http://127.0.0.1:${port}`, database: 'iotd'}, ['run'], (m) => {
      warnings.push(m)
      if (warnings.length === 1) server.listen(port, '127.0.0.1')
    })
    expect(warnings.length).toBeGreaterThanOrEqual(1)
    expect(requests).toContain('POST /query')
    await out.close()
  })

  it('a port fetch refuses to use (1) is the URL\'s fault: exit 2 at once, saying so', async () => {
    const warnings: string[] = []
    const error = await startInfluxOutput({url: 'http://127.0.0.1:1', database: 'iotd'}, ['run'], (m) => warnings.push(m)).catch((e: unknown) => e)
    expect((error as IotdError).exitCode).toBe(2)
    expect((error as IotdError).message).toBe('--out influxdb=http://127.0.0.1:1: fetch refuses to connect to this port (one of the ports the Fetch standard blocks)')
    expect(warnings).toEqual([])
  })

  it('an InfluxDB that refuses (HTTP 401 to CREATE DATABASE) fails at once with exit 1 and its answer', async () => {
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => res.writeHead(401, {'content-type': 'application/json'}).end('{"error":"authorization failed"}'))
    })
    servers.push(server)
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    const {port} = server.address() as AddressInfo
    const warnings: string[] = []
    const error = await startInfluxOutput({url: `http://127.0.0.1:${port}`, database: 'iotd'}, ['run'], (m) => warnings.push(m)).catch((e: unknown) => e)
    expect((error as IotdError).exitCode).toBe(1)
    expect((error as IotdError).message).toContain('HTTP 401 authorization failed')
    expect(warnings).toEqual([])
  })
})
