/**
 * `iotd replay` when the broker goes away mid-replay, as a reviewer met it (the built CLI, a private mosquitto
 * stopped and started again on the same port): the replay reconnects with backoff it announces, goes on where it
 * was, loses no QoS 1 message, and its figures add up; when it gives up, the partial summary and exit 1.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {startCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-replay-outage-'))

/** `count` QoS 1 rows on outage/q1, `gapMs` apart, payloads 0, 1, 2, … */
function q1File(name: string, count: number, gapMs: number): string {
  let text = 'ts,topic,qos,retain,encoding,payload\n'
  for (let i = 0; i < count; i++) text += `${1_767_225_600_000 + i * gapMs},outage/q1,1,0,utf8,${i}\n`
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Stops the broker (SIGTERM: mosquitto saves its sessions) and waits until the process is gone. */
async function stopBroker(broker: Mosquitto): Promise<void> {
  const pid = broker.pid
  broker.kill('SIGTERM')
  for (;;) {
    try {
      process.kill(pid, 0)
    } catch {
      return
    }
    await sleep(20)
  }
}

describeMosquitto('iotd replay across a broker outage (a real mosquitto restarted on the same port)', () => {
  it('reconnects with visible backoff, goes on where it was, every QoS 1 row arrives at least once, and rows = published', async () => {
    const broker = await startMosquitto({persistence: true})
    // A subscriber with a persistent session: what the broker takes while it is away is kept for it.
    const seen = new Set<string>()
    /** Each message at its first arrival: written again first after the outage, so in the file's order. */
    const firstArrivals: number[] = []
    const sub = await mqtt.connectAsync(broker.url, {clientId: 'outage-sub', clean: false, reconnectPeriod: 300})
    sub.on('message', (_t, payload) => {
      const text = payload.toString()
      if (!seen.has(text)) firstArrivals.push(Number(text))
      seen.add(text)
    })
    await sub.subscribeAsync('outage/q1', {qos: 1})
    const file = q1File('q1.csv', 2000, 5)
    const replay = startCli(['replay', file, '--broker', broker.url, '--json'])
    try {
      await expect.poll(() => seen.size, {timeout: 15_000}).toBeGreaterThan(0)
      await sleep(3000)
      await stopBroker(broker)
      await sleep(2000)
      await broker.restart()
      const r = await replay.exited
      expect(r.code, r.stderr).toBe(0)
      const s = JSON.parse(r.stdout)
      expect(s).toMatchObject({rows: 2000, published: 2000, skipped: 0, notSent: 0})
      expect(s.connection.losses).toBeGreaterThanOrEqual(1)
      expect(s.connection.outageMs).toBeGreaterThanOrEqual(1500)
      // Messages due while the broker was away went out late and count as late: the outage shows in the timing.
      expect(s.timing.max).toBeGreaterThanOrEqual(1000)
      expect(s.timing.count).toBe(2000)
      // The backoff is visible: the loss, each failed attempt with its wait, the reconnect.
      expect(r.stderr).toMatch(/lost the connection to mqtt:\/\/127\.0\.0\.1:\d+ \(\d+ messages? not acknowledged or not written\): reconnecting with backoff, up to 10 attempts/)
      expect(r.stderr).toMatch(/attempt 1 of 10: replay: cannot connect to mqtt:\/\/127\.0\.0\.1:\d+: connection refused.*; next in /)
      expect(r.stderr).toMatch(/reconnected to mqtt:\/\/127\.0\.0\.1:\d+ after .*: \d+ messages? written again/)
      // At least once: every row reaches the subscriber.
      await expect.poll(() => seen.size, {timeout: 20_000}).toBe(2000)
      const outOfOrder = firstArrivals.findIndex((n, i) => i > 0 && n < firstArrivals[i - 1])
      expect(outOfOrder, `first arrivals out of order at ${outOfOrder}: ${firstArrivals.slice(Math.max(0, outOfOrder - 3), outOfOrder + 3).join(', ')}`).toBe(-1)
    } finally {
      if (replay.child.exitCode === null) replay.child.kill('SIGKILL')
      sub.end(true)
      await broker.stop()
    }
  })

  it('gives up after --reconnect-attempts: the partial summary (published + not sent = rows) and exit 1', async () => {
    const broker = await startMosquitto()
    const file = q1File('q1-giveup.csv', 400, 5)
    const seen = new Set<string>()
    const sub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
    sub.on('message', (_t, payload) => seen.add(payload.toString()))
    await sub.subscribeAsync('outage/q1', {qos: 1})
    const run = async (json: boolean) => {
      seen.clear()
      const replay = startCli(['replay', file, '--broker', broker.url, '--reconnect-attempts', '2', ...(json ? ['--json'] : [])])
      await expect.poll(() => seen.size, {timeout: 15_000}).toBeGreaterThan(50)
      await stopBroker(broker)
      const r = await replay.exited
      await broker.restart()
      await sub.reconnect()
      await expect.poll(() => sub.connected, {timeout: 5000}).toBe(true)
      await sub.subscribeAsync('outage/q1', {qos: 1})
      return r
    }
    try {
      const j = await run(true)
      expect(j.code, j.stderr).toBe(1)
      const s = JSON.parse(j.stdout)
      expect(s.error).toMatch(/^gave up reconnecting to mqtt:\/\/127\.0\.0\.1:\d+ after 2 attempts/)
      expect(s.published).toBeGreaterThan(0)
      expect(s.notSent).toBeGreaterThan(0)
      expect(s.published + s.skipped + s.notSent).toBe(s.rows)
      expect(s.connection.losses).toBe(1)

      const t = await run(false)
      expect(t.code, t.stderr).toBe(1)
      expect(t.stdout).toMatch(/^replay stopped /)
      const figure = (name: string) => Number(new RegExp(`^ {2}${name} +(\\d+)`, 'm').exec(t.stdout)?.[1])
      expect(figure('published') + figure('skipped') + figure('not sent')).toBe(figure('rows'))
      expect(t.stdout).toMatch(/^ {2}stopped {4}gave up reconnecting/m)
      expect(t.stderr).toMatch(/gave up reconnecting to .* after 2 attempts .*\(the summary above covers the run until then\)/)
    } finally {
      sub.end(true)
      await broker.stop()
    }
  })
})
