/**
 * Issue #16, item 7: a live source states the format of its event time. Compressors that send `ts` in epoch
 * seconds, read through `timestamp: {field: ts, format: epoch-s}`, land in today's windows instead of 1970; an
 * event further ahead of the clock than the source's maxFutureSkew is counted and dead-lettered; the same seconds
 * read without a format are said to be 56 years old (a warning naming the fix), not silently late.
 */
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {startCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

/** The pipeline's subscription is in place (messages published before it would be lost: a clean session). */
async function subscribed(broker: Mosquitto): Promise<void> {
  await expect.poll(async () => Number(await broker.readSys('$SYS/broker/subscriptions/count')), {timeout: 20_000, interval: 200}).toBeGreaterThanOrEqual(1)
}

const dir = mkdtempSync(join(tmpdir(), 'iotd-event-time-'))

function pipelineFile(name: string, timestamp: string): string {
  const file = join(dir, `${name}.yaml`)
  writeFileSync(
    file,
    `version: 1
name: ${name}
sources:
  compressors:
    type: mqtt
    url: \${env:IOTD_BROKER}
    topics: [plant/+/compressor]
    qos: 1
    timestamp: ${timestamp}
deadLetter: ${name}.dead.jsonl
state: false
rules:
  - name: per-minute
    sql: SELECT deviceId, count(*) AS n, window_start() AS ws FROM compressors GROUP BY deviceId, TUMBLINGWINDOW(ss, 10)
    sinks: [{type: stdout}]
`,
  )
  return file
}

describeMosquitto('event time formats on a live source (issue #16, item 7)', () => {
  it('epoch seconds with format: epoch-s are today\'s windows; one beyond maxFutureSkew is dead-lettered and counted', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const file = pipelineFile('seconds', '{field: ts, format: epoch-s, maxFutureSkew: 1m}')
    const run = startCli(['pipeline', 'run', file, '--quiet'], {env: {IOTD_BROKER: broker.url}})
    const rows = () =>
      run
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as {deviceId: string; n: number; ws: number})
    try {
      await subscribed(broker)
      const pub = await mqtt.connectAsync(broker.url)
      const now = Math.floor(Date.now() / 1000)
      const start = now - (now % 10) - 20 // a whole 10 s window, 20 s ago: closed by the next reading
      const send = (ts: number) => pub.publishAsync('plant/c1/compressor', JSON.stringify({deviceId: 'c1', ts, pressure: 7.1}), {qos: 1})
      for (const ts of [start + 1, start + 4, start + 8]) await send(ts)
      await send(now + 3600) // an hour ahead: beyond maxFutureSkew (1m)
      await send(start + 15) // moves event time past the first window's end
      await pub.endAsync()
      await expect.poll(() => rows().length, {timeout: 20_000, interval: 200}).toBeGreaterThanOrEqual(1)
      expect(rows()[0]).toEqual({deviceId: 'c1', n: 3, ws: start * 1000})
      await expect.poll(() => existsSync(join(dir, 'seconds.dead.jsonl')) && readFileSync(join(dir, 'seconds.dead.jsonl'), 'utf8').trim().split('\n').length, {timeout: 10_000}).toBe(1)
      const dead = JSON.parse(readFileSync(join(dir, 'seconds.dead.jsonl'), 'utf8').trim()) as {stage: string; reason: string}
      expect(dead.stage).toBe('source:compressors')
      expect(dead.reason).toMatch(/more than maxFutureSkew \(1m\) ahead of the clock/)
    } finally {
      run.child.kill('SIGINT')
      await run.exited
      await broker.stop()
    }
    expect(run.stderr()).toMatch(/source compressors \(mqtt\): 5 records, 1 ahead of the clock by more than maxFutureSkew \(dead letter\)/)
  })

  it('the same seconds without a format: read as 1970, and the run says so once, naming the fix', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const file = pipelineFile('unstated', 'ts')
    const run = startCli(['pipeline', 'run', file, '--quiet'], {env: {IOTD_BROKER: broker.url}})
    try {
      await subscribed(broker)
      const pub = await mqtt.connectAsync(broker.url)
      const now = Math.floor(Date.now() / 1000)
      for (let i = 0; i < 3; i++) await pub.publishAsync('plant/c1/compressor', JSON.stringify({deviceId: 'c1', ts: now + i, pressure: 7}), {qos: 1})
      await pub.endAsync()
      await expect.poll(() => run.stderr(), {timeout: 20_000, interval: 200}).toMatch(/source compressors: event time 1970-01-21T\S+ \(field ts = \d+, read as epoch ms\) is 5\d years behind the clock; if the devices send seconds, write timestamp: \{field: ts, format: epoch-s\}/)
    } finally {
      run.child.kill('SIGINT')
      await run.exited
      await broker.stop()
    }
    // Said once, not per message.
    expect(run.stderr().match(/years behind the clock/g)).toHaveLength(1)
  })
})
