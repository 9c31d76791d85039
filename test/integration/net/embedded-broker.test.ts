import {createServer, connect as netConnect, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/mqtt-connection.js'
import {resolveBroker, startEmbeddedBroker, type EmbeddedBroker} from '../../../src/net/embedded-broker.js'
import {freePort} from '../../helpers/ports.js'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

function track(b: EmbeddedBroker): EmbeddedBroker {
  cleanups.push(() => b.close())
  return b
}

function listenRaw(onSocket: (s: Socket) => void): Promise<{server: Server; port: number}> {
  const sockets = new Set<Socket>()
  const server = createServer((s) => {
    sockets.add(s)
    onSocket(s)
  })
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  )
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({server, port: (server.address() as {port: number}).port})))
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

describe('startEmbeddedBroker', () => {
  it('serves MQTT on an OS-assigned port and counts its clients', async () => {
    const broker = track(await startEmbeddedBroker({port: 0}))
    expect(broker.host).toBe('127.0.0.1')
    expect(broker.port).toBeGreaterThan(0)
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`)
    const client = await connectOnce({url: broker.url, clientId: 'counted'})
    await expect.poll(() => broker.clients()).toBe(1)
    await new Promise<void>((r) => client.end(false, {}, () => r()))
    await expect.poll(() => broker.clients()).toBe(0)
  })

  it('close() frees the port and closes connected and not-yet-CONNECTed sockets', async () => {
    const broker = await startEmbeddedBroker({port: 0})
    const client = await connectOnce({url: broker.url, clientId: 'to-be-closed'})
    const clientClosed = new Promise<void>((r) => client.once('close', () => r()))
    // A raw socket that never sends CONNECT is not an aedes client yet; it must be closed too.
    const raw = netConnect(broker.port, '127.0.0.1')
    await new Promise((r) => raw.once('connect', r))
    const rawClosed = new Promise<void>((r) => raw.once('close', () => r()))
    await broker.close()
    await clientClosed
    await rawClosed
    expect(await canBind(broker.port)).toBe(true)
    await broker.close() // idempotent
  })

  it('rejects with EADDRINUSE when the port is taken', async () => {
    const {port} = await listenRaw(() => {})
    await expect(startEmbeddedBroker({port})).rejects.toMatchObject({code: 'EADDRINUSE'})
  })
})

describe('resolveBroker', () => {
  it('uses a user-given URL as is and starts nothing', async () => {
    const res = await resolveBroker({url: 'mqtt://u:p@broker.example:1883'})
    expect(res).toEqual({url: 'mqtt://u:p@broker.example:1883'})
  })

  it('reuses an MQTT broker that answers on the default address', async () => {
    const existing = track(await startEmbeddedBroker({port: 0}))
    const res = await resolveBroker({defaultUrl: existing.url})
    expect(res.embedded).toBeUndefined()
    expect(res.url).toBe(existing.url)
    expect(res.note).toBe(`using the MQTT broker at 127.0.0.1:${existing.port}`)
  })

  it('starts the embedded broker on the probed port when nothing listens there', async () => {
    const port = await freePort()
    const res = await resolveBroker({defaultUrl: `mqtt://127.0.0.1:${port}`})
    expect(res.embedded).toBeDefined()
    track(res.embedded as EmbeddedBroker)
    expect(res.url).toBe(`mqtt://127.0.0.1:${port}`)
    expect(res.note).toContain(`no broker at 127.0.0.1:${port}: started the embedded broker (aedes, MQTT 3.1.1) on mqtt://127.0.0.1:${port}`)
    const client = await connectOnce({url: res.url, clientId: 'works'})
    expect(client.connected).toBe(true)
    client.end(true)
  })

  it('starts the embedded broker on another port when a non-MQTT server holds the port (silent or hanging up)', async () => {
    const silent = await listenRaw(() => {})
    const res = await resolveBroker({defaultUrl: `mqtt://127.0.0.1:${silent.port}`, probeTimeoutMs: 300})
    track(res.embedded as EmbeddedBroker)
    expect(res.embedded?.port).not.toBe(silent.port)
    expect(res.url).toBe(`mqtt://127.0.0.1:${res.embedded?.port}`)
    expect(res.note).toContain(`127.0.0.1:${silent.port} is in use by something that is not an MQTT broker`)

    const rude = await listenRaw((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'))
    const res2 = await resolveBroker({defaultUrl: `mqtt://127.0.0.1:${rude.port}`, probeTimeoutMs: 300})
    track(res2.embedded as EmbeddedBroker)
    expect(res2.embedded?.port).not.toBe(rude.port)
    const client = await connectOnce({url: res2.url, clientId: 'works-too'})
    client.end(true)
  })
})
