import {Aedes} from 'aedes'
import type {MqttClient} from 'mqtt'
// `ws` comes with MQTT.js (its WebSocket transport); the test uses it for the server side.
import {createWebSocketStream, WebSocketServer} from 'ws'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/mqtt-connection.js'

describe('MQTT over WebSocket (ws://) against aedes', () => {
  let aedes: Aedes
  let wss: WebSocketServer
  let url: string
  const peers: string[] = []
  const clients: MqttClient[] = []

  beforeAll(async () => {
    aedes = await Aedes.createBroker()
    wss = new WebSocketServer({host: '127.0.0.1', port: 0, path: '/mqtt'})
    await new Promise((r) => wss.once('listening', r))
    wss.on('connection', (socket, req) => {
      peers.push(req.socket.remoteAddress ?? '')
      aedes.handle(createWebSocketStream(socket))
    })
    url = `ws://127.0.0.1:${(wss.address() as {port: number}).port}/mqtt`
  })
  afterAll(async () => {
    for (const c of clients) c.end(true)
    await new Promise<void>((r) => aedes.close(() => r()))
    for (const ws of wss.clients) ws.terminate()
    await new Promise((r) => wss.close(r))
  })

  it('round-trips a message over ws:// from a bound source address', async () => {
    const sub = await connectOnce({url, clientId: 'ws-sub', sourceAddress: '127.0.0.5'})
    const pub = await connectOnce({url, clientId: 'ws-pub'})
    clients.push(sub, pub)
    await sub.subscribeAsync('ws/#', {qos: 1})
    const got = new Promise<string>((r) => sub.once('message', (t, p) => r(`${t}=${p.toString()}`)))
    await pub.publishAsync('ws/a', 'over-websocket', {qos: 1})
    expect(await got).toBe('ws/a=over-websocket')
    expect(peers[0]).toMatch(/127\.0\.0\.5$/)
  })

  it('fails clearly on a wrong WebSocket path', async () => {
    const wrong = url.replace('/mqtt', '/nope')
    const err = await connectOnce({url: wrong, clientId: 'ws-bad', connectTimeoutMs: 2000}).catch((e: unknown) => e)
    expect(err).toMatchObject({exitCode: 1, reason: 'closed'})
    expect((err as Error).message).toBe(`${wrong} closed the connection before answering CONNECT`)
    expect((err as {suggestions: string[]}).suggestions.join(' ')).toContain('path')
  })
})
