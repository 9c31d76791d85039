import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {ROOT, runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

/**
 * `iotd replay` of foreign CSVs by column mapping, as a user runs it against a private mosquitto (issue #13 item
 * 16): an mqtt-recorder file replays with the flags docs/capture-format.md gives (topics with levels from a cell,
 * per-row QoS and retain, times since the previous row), and --max-speed needs no time column.
 */

/** The `iotd replay recording.csv ...` command of docs/capture-format.md, as arguments (continuation lines joined). */
function documentedCommand(): string[] {
  const doc = readFileSync(join(ROOT, 'docs/capture-format.md'), 'utf8')
  const start = doc.indexOf('iotd replay recording.csv')
  expect(start, 'docs/capture-format.md shows the mqtt-recorder command').toBeGreaterThan(0)
  const command = doc.slice(start, doc.indexOf('```', start)).replace(/\\\n\s*/g, ' ').trim()
  return (command.match(/'[^']*'|\S+/g) ?? []).map((a) => a.replace(/^'(.*)'$/, '$1')).slice(2)
}

describeMosquitto('iotd replay with a column mapping', () => {
  it('an mqtt-recorder file replays with the documented flags: topics, payloads, QoS and retain as recorded', async () => {
    const broker = await startMosquitto()
    const seen: Array<{topic: string; payload: string; qos: number}> = []
    const sub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
    try {
      sub.on('message', (topic, payload, packet) => seen.push({topic, payload: payload.toString(), qos: packet.qos}))
      await sub.subscribeAsync('#', {qos: 2})
      const args = documentedCommand()
      expect(args[0]).toBe('recording.csv')
      args[0] = join(ROOT, 'test/fixtures/csv/mqtt-recorder.csv')
      const r = await runCli(['replay', ...args, '--broker', broker.url, '--speed', '4'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/published\s+4 /)
      await expect.poll(() => seen.length, {timeout: 10_000}).toBe(4)
      expect(seen).toEqual([
        {topic: 'plant/press-01/telemetry', payload: '{"temp": 21.5, "state": "run"}', qos: 1},
        {topic: 'plant/press-01/status', payload: 'online', qos: 1},
        {topic: 'plant/press-02/telemetry', payload: '{"temp": 22.0}', qos: 0},
        {topic: 'sensors/room 1/humidity', payload: '45', qos: 2},
      ])
      // Retain as recorded: a subscriber arriving later gets the status (True in the file) and nothing else.
      const late = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
      const retained: string[] = []
      late.on('message', (topic, payload, packet) => packet.retain && retained.push(`${topic}=${payload.toString()}`))
      await late.subscribeAsync('#', {qos: 1})
      await expect.poll(() => retained, {timeout: 5000}).toEqual(['plant/press-01/status=online'])
      await late.endAsync()
    } finally {
      await sub.endAsync()
      await broker.stop()
    }
  }, 60_000)

  it('--max-speed replays a mapped file that has no time column; a timed replay of it is a usage error', async () => {
    const broker = await startMosquitto()
    const dir = mkdtempSync(join(tmpdir(), 'iotd-replay-map-'))
    const file = join(dir, 'untimed.csv')
    writeFileSync(file, 'topic,temp\nplant/a,1\nplant/b,2\nplant/c,3\n')
    const seen: string[] = []
    const sub = await mqtt.connectAsync(broker.url, {reconnectPeriod: 0})
    try {
      sub.on('message', (topic, payload) => seen.push(`${topic} ${payload.toString()}`))
      await sub.subscribeAsync('plant/#', {qos: 1})
      const timed = await runCli(['replay', file, '--broker', broker.url])
      expect(timed.code).toBe(2)
      expect(timed.stderr).toMatch(/no time column/)
      const fast = await runCli(['replay', file, '--broker', broker.url, '--max-speed'])
      expect(fast.code, fast.stderr).toBe(0)
      await expect.poll(() => seen, {timeout: 10_000}).toEqual(['plant/a {"temp":1}', 'plant/b {"temp":2}', 'plant/c {"temp":3}'])
    } finally {
      await sub.endAsync()
      await broker.stop()
    }
  }, 60_000)
})
