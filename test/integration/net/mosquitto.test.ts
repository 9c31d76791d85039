import type {MqttClient} from 'mqtt'
import {afterEach, expect, it} from 'vitest'
import {connectOnce, createMqttClient} from '../../../src/net/mqtt-connection.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

const clients: MqttClient[] = []
afterEach(() => {
  for (const c of clients.splice(0)) c.end(true)
})
async function open(url: string, clientId: string, extra: Partial<Parameters<typeof connectOnce>[0]> = {}): Promise<MqttClient> {
  const c = await connectOnce({url, clientId, ...extra})
  clients.push(c)
  return c
}
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describeMosquitto('MQTT connection factory against mosquitto', () => {
  let broker: Mosquitto

  it('round-trips over MQTT 3.1.1 and MQTT 5 and the broker counts what it received', async () => {
    broker = await startMosquitto()
    for (const protocol of ['3.1.1', '5'] as const) {
      const sub = await open(broker.url, `sub-${protocol}`, {protocol})
      const pub = await open(broker.url, `pub-${protocol}`, {protocol})
      await sub.subscribeAsync('iotd/#', {qos: 1})
      const got = new Promise<string>((r) => sub.once('message', (_t, p) => r(p.toString())))
      await pub.publishAsync('iotd/x', `v${protocol}`, {qos: 1})
      expect(await got).toBe(`v${protocol}`)
    }
    await expect.poll(async () => Number(await broker.readSys('broker/publish/messages/received')), {timeout: 5000, interval: 500}).toBeGreaterThanOrEqual(2)
    const pid = broker.pid
    await broker.stop()
    expect(pidAlive(pid)).toBe(false)
  })

  it('keeps an MQTT 5 session (sessionExpirySec) and its queued QoS 1 messages across a broker restart', async () => {
    broker = await startMosquitto({persistence: true})
    const device = await open(broker.url, 'persistent-device', {protocol: '5', clean: false, sessionExpirySec: 300})
    await device.subscribeAsync('cmd/persistent-device', {qos: 1})
    device.end(true)
    const sender = await open(broker.url, 'sender', {protocol: '5'})
    await sender.publishAsync('cmd/persistent-device', 'reboot', {qos: 1})
    sender.end(true)

    const oldPid = broker.pid
    await broker.restart()
    expect(broker.pid).not.toBe(oldPid)

    const again = await resume(broker.url)
    expect(again.sessionPresent).toBe(true)
    expect(await again.message).toBe('reboot')
    await broker.stop()
  })

  it('pause() makes the broker unresponsive until resume()', async () => {
    broker = await startMosquitto()
    broker.pause()
    const err = await connectOnce({url: broker.url, clientId: 'during-pause', connectTimeoutMs: 300}).catch((e: unknown) => e)
    expect(err).toMatchObject({reason: 'timeout'})
    broker.resume()
    const ok = await open(broker.url, 'after-resume')
    expect(ok.connected).toBe(true)
    await broker.stop()
  })
})

/** Reconnects the persistent device, catching a message that may arrive right after CONNACK. */
async function resume(url: string): Promise<{sessionPresent: boolean; message: Promise<string>}> {
  const client = createMqttClient({url, clientId: 'persistent-device', protocol: '5', clean: false, sessionExpirySec: 300})
  clients.push(client)
  const message = new Promise<string>((r) => client.once('message', (_t, p) => r(p.toString())))
  const connack = await new Promise<{sessionPresent: boolean}>((resolve, reject) => {
    client.once('connect', resolve)
    client.once('error', reject)
  })
  return {sessionPresent: connack.sessionPresent, message}
}
