import {spawn} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {runCli, startCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/**
 * `iotd sim` against a private mosquitto, as a user runs it (issue #13 items 7 and 8): the shipped smart-factory
 * leaves every status it published as retained offline, and a fleet's offlineQueue bounds what a stalled broker
 * makes it hold, with what is left at the end counted and warned about.
 */

function retainedOn(broker: Mosquitto, filter: string): Promise<string[]> {
  return new Promise((resolve) => {
    const p = spawn('mosquitto_sub', ['-h', broker.host, '-p', String(broker.port), '-v', '-t', filter, '-F', '%r %t %p', '-W', '2'])
    let text = ''
    p.stdout.on('data', (d: Buffer) => (text += d.toString()))
    p.on('exit', () => resolve(text.trim().split('\n').filter(Boolean)))
  })
}

describeMosquitto('iotd sim: what a run leaves behind and what it could not send', () => {
  it('the shipped smart-factory leaves no retained "online" status: every device that came online says offline after the run', async () => {
    const broker = await startMosquitto()
    try {
      const r = await runCli(['sim', 'scenarios/smart-factory.yaml', '--broker', broker.url, '--duration', '4s', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const summary = JSON.parse(r.stdout) as {totals: {published: number}}
      expect(summary.totals.published).toBeGreaterThan(0)
      const lines = await retainedOn(broker, 'acme/+/+/+/+/status')
      expect(lines.length).toBeGreaterThan(0)
      for (const line of lines) expect(line).toMatch(/^1 acme\/\w+\/\w+\/l\d\/[\w-]+\/status \{"online":false\}$/)
    } finally {
      await broker.stop()
    }
  }, 90_000)

  it('offlineQueue: a stalled broker fills the in-flight window; the queue holds that many, drops the rest, and what is left at the end is counted unsent and warned about', async () => {
    const broker = await startMosquitto()
    const dir = mkdtempSync(join(tmpdir(), 'iotd-queue-'))
    const scenario = join(dir, 'queue.yaml')
    writeFileSync(scenario, 'version: 1\nseed: 5\nfleets:\n  - name: meter\n    count: 2\n    topic: "q/{deviceId}"\n    every: 100ms\n    qos: 1\n    inflight: 1\n    offlineQueue: 3\n    fields:\n      v: {kind: counter}\n')
    const run = startCli(['sim', scenario, '--broker', broker.url, '--duration', '4s'])
    try {
      // Once both devices are connected and publishing, the broker stops answering: no PUBACK comes back.
      await expect.poll(() => /2\/2 connected\s+\S+ msg\/s\s+[1-9][\d,]* published/.test(run.stderr()), {timeout: 30_000}).toBe(true)
      broker.pause()
      const r = await run.exited
      expect(r.code, r.stderr).toBe(0)
      // Each device holds exactly its offlineQueue when the run ends: 2 × 3 unsent, and the rest were dropped.
      expect(r.stdout).toContain('6 QoS 1/2 messages still queued when the run ended were not sent (counted as dropped)')
      expect(r.stdout).toMatch(/[\d,]+ messages? dropped \(QoS 0 with the connection down at the due time, or QoS 1\/2 past a device's offlineQueue\)/)
    } finally {
      broker.resume()
      await broker.stop()
    }
  }, 90_000)
})
