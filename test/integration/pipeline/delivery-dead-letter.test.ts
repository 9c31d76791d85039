/**
 * Issue #12, acceptance 6: non-JSON and binary MQTT payloads that a pipeline dead-lettered keep their bytes in the
 * dead-letter file (text as is, anything else as base64, with topic, ts, stage and reason), and `iotd replay
 * <dead-letter file>` sends them back byte for byte.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {runCli, startCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-delivery-dl-'))

describeMosquitto('delivery: dead letters keep their payload and replay byte for byte (issue #12 acceptance 6)', () => {
  it('text, invalid UTF-8 and binary payloads go to the dead letter whole and come back identical through iotd replay', {timeout: 60_000}, async () => {
    const broker = await startMosquitto()
    const prefix = `delivery/${process.pid}/dl`
    const deadLetter = join(dir, 'dead-letter.jsonl')
    const file = join(dir, 'dl.yaml')
    writeFileSync(
      file,
      `version: 1
name: delivery-dead-letter
sources:
  plant: {type: mqtt, url: "${broker.url}", topics: ["${prefix}/in/#"], qos: 1, clientId: delivery-dl-${process.pid}, clean: false}
deadLetter: ${deadLetter}
rules:
  - sql: SELECT * FROM plant
    sinks: [{type: file, path: ${join(dir, 'rows.jsonl')}}]
`,
    )
    const payloads: [string, Buffer][] = [
      [`${prefix}/in/text`, Buffer.from('temp=21.5;unit=C')],
      [`${prefix}/in/latin1`, Buffer.from([0x74, 0xe9, 0x6d, 0x70, 0xff])],
      [`${prefix}/in/binary`, Buffer.from(Array.from({length: 256}, (_, i) => i))],
      [`${prefix}/in/empty-json`, Buffer.from('{"v": 1')],
    ]
    const run = startCli(['pipeline', 'run', file, '--state-dir', join(dir, 'state')])
    try {
      await expect.poll(() => run.stderr(), {timeout: 20_000}).toMatch(/in \d/)
      const pub = await mqtt.connectAsync(broker.url)
      for (const [topic, payload] of payloads) await pub.publishAsync(topic, payload, {qos: 1})
      await pub.endAsync()
      await expect.poll(() => (readFileSync(deadLetter, {encoding: 'utf8', flag: 'a+'}).match(/\n/g) ?? []).length, {timeout: 20_000}).toBe(payloads.length)
    } finally {
      run.child.kill('SIGINT')
      await run.exited
    }
    const lines = readFileSync(deadLetter, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as {stage: string; reason: string; at: string; record: {topic: string; ts: number; payload?: string; payloadBase64?: string; qos?: number}})
    for (const l of lines) {
      expect(l.stage).toBe('source:plant')
      expect(l.reason).toMatch(/not valid JSON/)
      expect(typeof l.record.ts).toBe('number')
      expect(l.record.qos).toBe(1)
    }
    expect(lines.find((l) => l.record.topic.endsWith('/text'))?.record.payload).toBe('temp=21.5;unit=C')
    expect(lines.find((l) => l.record.topic.endsWith('/binary'))?.record.payloadBase64).toBe(payloads[2][1].toString('base64'))

    // Back to the broker, under another prefix so the pipeline's own subscription does not see them.
    const got = new Map<string, Buffer>()
    const sub = await mqtt.connectAsync(broker.url)
    sub.on('message', (topic, payload) => got.set(topic, Buffer.from(payload)))
    await sub.subscribeAsync('back/#', {qos: 1})
    const replay = await runCli(['replay', deadLetter, '--broker', broker.url, '--max-speed', '--topic-prefix', 'back/', '--json'])
    expect(replay.code, replay.stderr).toBe(0)
    expect(JSON.parse(replay.stdout)).toMatchObject({published: payloads.length})
    await expect.poll(() => got.size, {timeout: 10_000}).toBe(payloads.length)
    for (const [topic, payload] of payloads) expect(got.get(`back/${topic}`)?.equals(payload), topic).toBe(true)
    await sub.endAsync()
    await broker.stop()
  })
})
