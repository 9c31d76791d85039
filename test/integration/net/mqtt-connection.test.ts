import {createServer, type Server, type Socket} from 'node:net'
import {dirname, join} from 'node:path'
import {Aedes} from 'aedes'
import type {MqttClient} from 'mqtt'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {IotdError} from '../../../src/errors.js'
import {MqttConnectError} from '../../../src/net/connect-errors.js'
import {startEmbeddedBroker, type EmbeddedBroker} from '../../../src/net/embedded-broker.js'
import {connectOnce, connectWithRetry, createMqttClient, type ClientOptions} from '../../../src/net/mqtt-connection.js'
import {freePort} from '../../helpers/ports.js'
import {opensslAvailable, startTlsAedes, type TlsBroker} from '../../helpers/tls-cert.js'

const clients: MqttClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.end(true)
})
function keep(c: MqttClient): MqttClient {
  clients.push(c)
  return c
}

function nextMessage(client: MqttClient): Promise<{topic: string; payload: string}> {
  return new Promise((resolve) => client.once('message', (topic, payload) => resolve({topic, payload: payload.toString()})))
}

async function roundtrip(url: string, extra: Partial<ClientOptions> = {}): Promise<string> {
  const sub = keep(await connectOnce({url, clientId: `sub-${Math.random()}`, ...extra}))
  const pub = keep(await connectOnce({url, clientId: `pub-${Math.random()}`, ...extra}))
  await sub.subscribeAsync('iotd/test/#', {qos: 1})
  const got = nextMessage(sub)
  await pub.publishAsync('iotd/test/a', 'hello', {qos: 1})
  const msg = await got
  return `${msg.topic}=${msg.payload}`
}

describe('MQTT connection factory against the embedded broker (aedes)', () => {
  let broker: EmbeddedBroker
  beforeAll(async () => {
    broker = await startEmbeddedBroker({port: 0})
  })
  afterAll(() => broker.close())

  it('connects and round-trips a QoS 1 message', async () => {
    expect(await roundtrip(broker.url)).toBe('iotd/test/a=hello')
  })

  it('creates clients that do not reconnect by themselves', async () => {
    const client = keep(createMqttClient({url: broker.url, clientId: 'no-auto-reconnect'}))
    await new Promise((r) => client.once('connect', r))
    expect(client.options.reconnectPeriod).toBe(0)
    expect(client.options.queueQoSZero).toBe(false)
    // Drop the connection from the client side without DISCONNECT; nothing may bring it back.
    let reconnects = 0
    client.on('reconnect', () => reconnects++)
    client.stream.destroy()
    await new Promise<void>((r) => client.once('close', () => r()))
    // Time passing is the behaviour under test: a client that reconnects by itself would have started to within it.
    await new Promise((r) => setTimeout(r, 300))
    expect(reconnects).toBe(0)
    expect(client.connected).toBe(false)
    client.reconnect()
    await new Promise((r) => client.once('connect', r))
    expect(client.connected).toBe(true)
  })

  it('publishes the last will when a client vanishes', async () => {
    const watcher = keep(await connectOnce({url: broker.url, clientId: 'watcher'}))
    await watcher.subscribeAsync('iotd/will/+', {qos: 1})
    const doomed = await connectOnce({url: broker.url, clientId: 'doomed', will: {topic: 'iotd/will/doomed', payload: 'gone', qos: 1, retain: false}})
    const got = nextMessage(watcher)
    doomed.stream.destroy()
    expect(await got).toEqual({topic: 'iotd/will/doomed', payload: 'gone'})
  })

  it('binds the socket to the given source address', async () => {
    const seen: string[] = []
    const sockets = new Set<Socket>()
    const server: Server = createServer((s) => {
      sockets.add(s)
      seen.push(s.remoteAddress ?? '')
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as {port: number}).port
    const client = keep(createMqttClient({url: `mqtt://127.0.0.1:${port}`, clientId: 'bound', sourceAddress: '127.0.0.2'}))
    await expect.poll(() => seen.length).toBe(1)
    expect(seen[0]).toMatch(/127\.0\.0\.2$/)
    client.end(true)
    for (const s of sockets) s.destroy()
    await new Promise((r) => server.close(r))
    // And a full MQTT session from 127.0.0.3 to the broker works.
    const real = keep(await connectOnce({url: broker.url, clientId: 'bound-real', sourceAddress: '127.0.0.3'}))
    expect((real.stream as Socket).localAddress).toBe('127.0.0.3')
  })

  it('takes credentials from the URL, and explicit ones win', async () => {
    const seen: Array<{username?: string; password?: string}> = []
    const aedes = await Aedes.createBroker({
      authenticate: (_client, username, password, done) => {
        seen.push({username, password: password?.toString()})
        done(null, username === 'alice' && password?.toString() === 's3cret')
      },
    })
    const server = createServer(aedes.handle)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as {port: number}).port
    try {
      const ok = keep(await connectOnce({url: `mqtt://alice:s3cret@127.0.0.1:${port}`, clientId: 'url-creds'}))
      expect(ok.connected).toBe(true)
      const err = await connectOnce({url: `mqtt://alice:s3cret@127.0.0.1:${port}`, clientId: 'bad', password: 'wrong'}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(MqttConnectError)
      expect(err).toMatchObject({reason: 'rejected', retryable: false, exitCode: 1})
      expect((err as Error).message).toMatch(new RegExp(`^mqtt://alice:\\*\\*\\*@127\\.0\\.0\\.1:${port} refused the connection: .*\\(code [45]\\)$`))
      expect((err as Error).message).not.toContain('s3cret')
      expect(seen).toEqual([
        {username: 'alice', password: 's3cret'},
        {username: 'alice', password: 'wrong'},
      ])
    } finally {
      await new Promise<void>((r) => aedes.close(() => r()))
      await new Promise((r) => server.close(r))
    }
  })
})

describe('connection failures', () => {
  it('connectOnce says which broker refused and why', async () => {
    const port = await freePort()
    const err = await connectOnce({url: `mqtt://127.0.0.1:${port}`, clientId: 'x'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MqttConnectError)
    expect((err as Error).message).toBe(`cannot connect to mqtt://127.0.0.1:${port}: connection refused (nothing is listening there)`)
  })

  it('connectOnce times out on a listener that never answers CONNECT', async () => {
    const sockets = new Set<Socket>()
    const server = createServer((s) => sockets.add(s))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as {port: number}).port
    const started = Date.now()
    const err = await connectOnce({url: `mqtt://127.0.0.1:${port}`, clientId: 'x', connectTimeoutMs: 300}).catch((e: unknown) => e)
    expect(Date.now() - started).toBeLessThan(3000)
    expect(err).toMatchObject({reason: 'timeout'})
    expect((err as Error).message).toContain(`no CONNACK from mqtt://127.0.0.1:${port} within 0.3s`)
    for (const s of sockets) s.destroy()
    await new Promise((r) => server.close(r))
  })

  it('connectWithRetry gives up after N attempts with exit code 1, backing off between them', async () => {
    const port = await freePort()
    const retries: Array<[number, number]> = []
    const err = await connectWithRetry(
      {url: `mqtt://user:pw@127.0.0.1:${port}`, clientId: 'retrier'},
      {attempts: 3, initialMs: 20, maxMs: 100, multiplier: 2, jitter: 'none', onRetry: (attempt, delay) => retries.push([attempt, delay])},
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IotdError)
    expect((err as IotdError).exitCode).toBe(1)
    expect((err as Error).message).toBe(
      `gave up connecting to mqtt://user:***@127.0.0.1:${port} after 3 attempts: cannot connect to mqtt://user:***@127.0.0.1:${port}: connection refused (nothing is listening there)`,
    )
    expect(retries).toEqual([
      [1, 20],
      [2, 40],
    ])
  })

  it('connectWithRetry succeeds once the broker appears', async () => {
    const port = await freePort()
    let broker: EmbeddedBroker | undefined
    const client = await connectWithRetry(
      {url: `mqtt://127.0.0.1:${port}`, clientId: 'patient'},
      {
        attempts: 10,
        initialMs: 50,
        maxMs: 200,
        multiplier: 2,
        jitter: 'none',
        onRetry: (attempt) => {
          if (attempt === 2) void startEmbeddedBroker({port}).then((b) => (broker = b))
        },
      },
    )
    expect(client.connected).toBe(true)
    client.end(true)
    await broker?.close()
  })

  it('a source address that is not on this host fails clearly and is not retried', async () => {
    const broker = await startEmbeddedBroker({port: 0})
    const tries: number[] = []
    const err = await connectWithRetry(
      {url: broker.url, clientId: 'nowhere', sourceAddress: '192.0.2.77'},
      {attempts: 5, initialMs: 10, maxMs: 10, multiplier: 1, jitter: 'none', onRetry: (a) => tries.push(a)},
    ).catch((e: unknown) => e)
    await broker.close()
    expect(err).toMatchObject({reason: 'source-address'})
    expect((err as Error).message).toContain('192.0.2.77')
    expect(tries).toEqual([])
  })
})

if (!opensslAvailable) process.stderr.write('NOTICE: skipping the TLS tests: openssl is not installed\n')

describe.skipIf(!opensslAvailable)('TLS (mqtts://) against aedes behind a self-signed certificate', () => {
  let broker: TlsBroker
  let url: string
  beforeAll(async () => {
    broker = await startTlsAedes('iotd-tls-')
    url = broker.url
  })
  afterAll(() => broker.close())

  it('verifies certificates by default and fails with a TLS error', async () => {
    const err = await connectOnce({url, clientId: 'strict'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MqttConnectError)
    expect(err).toMatchObject({reason: 'tls', retryable: false})
    expect((err as Error).message).toMatch(/^TLS handshake with mqtts:\/\/127\.0\.0\.1:\d+ failed: self[- ]signed certificate/)
  })

  it('connects with insecure: true', async () => {
    const client = keep(await connectOnce({url, clientId: 'insecure', tls: {insecure: true}}))
    expect(client.connected).toBe(true)
  })

  it('connects with the CA given, and binds a source address over TLS', async () => {
    const client = keep(await connectOnce({url, clientId: 'with-ca', tls: {ca: broker.cert}, sourceAddress: '127.0.0.4'}))
    expect(client.connected).toBe(true)
    expect((client.stream as Socket).localAddress).toBe('127.0.0.4')
    expect(await roundtrip(url, {tls: {ca: broker.cert}})).toBe('iotd/test/a=hello')
  })

  it('reports an unreadable CA file as a usage error naming the file', () => {
    expect(() => createMqttClient({url, clientId: 'x', tls: {ca: join(dirname(broker.cert), 'missing.pem')}})).toThrow(/cannot read the TLS CA file .*missing\.pem \(ENOENT\)/)
  })
})
