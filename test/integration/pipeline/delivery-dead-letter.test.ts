/**
 * Issue #12, acceptance 6: non-JSON and binary MQTT payloads that a pipeline dead-lettered keep their bytes in the
 * dead-letter file (text as is, anything else as base64, with topic, ts, stage and reason), and `iotd replay
 * <dead-letter file>` sends them back byte for byte. And a dead-letter line is written before its message is
 * acknowledged: a pipeline killed with kill -9 while it dead-letters a flood loses none of them.
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

  for (const mode of ['state on (checkpoints every 200 ms)', '--no-state'] as const) {
    it(`${mode}: killed with kill -9 while dead-lettering a flood and restarted, every message has its dead-letter line`, {timeout: 120_000}, async () => {
      // Unlimited queue: messages published while the pipeline is down wait for its persistent session.
      const broker = await startMosquitto({extraConfig: ['max_queued_messages 0']})
      const tag = mode === '--no-state' ? 'nostate' : 'state'
      const topic = `delivery/${process.pid}/dl-kill-${tag}`
      const deadLetter = join(dir, `kill-${tag}.jsonl`)
      const file = join(dir, `kill-${tag}.yaml`)
      writeFileSync(
        file,
        `version: 1
name: delivery-dl-kill-${tag}
sources:
  plant: {type: mqtt, url: "${broker.url}", topics: ["${topic}"], qos: 1, clientId: delivery-dl-kill-${tag}-${process.pid}, clean: false}
deadLetter: ${deadLetter}
state: {interval: 200ms}
rules:
  - sql: SELECT * FROM plant
    sinks: [{type: file, path: ${join(dir, `kill-${tag}-rows.jsonl`)}}]
`,
      )
      const N = 4000
      const args = ['pipeline', 'run', file, '--state-dir', join(dir, `kill-${tag}-state`), ...(mode === '--no-state' ? ['--no-state'] : [])]
      const seqs = () => new Set((readFileSync(deadLetter, {encoding: 'utf8', flag: 'a+'}).match(/not json (\d+)/g) ?? []).map((m) => m.slice(9)))
      const first = startCli(args)
      try {
        await expect.poll(() => first.stderr(), {timeout: 20_000}).toMatch(/in \d/)
        const pub = await mqtt.connectAsync(broker.url)
        const publishing = (async () => {
          for (let i = 0; i < N; i += 200) await Promise.all(Array.from({length: 200}, (_, j) => pub.publishAsync(topic, `not json ${i + j}`, {qos: 1})))
        })()
        // Killed in the middle of the flood: lines written, messages acknowledged, more arriving.
        await expect.poll(() => seqs().size, {timeout: 60_000, interval: 20}).toBeGreaterThan(N / 5)
        first.child.kill('SIGKILL')
        await first.exited
        await publishing
        await pub.endAsync()
      } finally {
        first.child.kill('SIGKILL')
      }
      const second = startCli(args)
      try {
        await expect.poll(() => seqs().size, {timeout: 60_000, interval: 200}).toBe(N)
      } finally {
        second.child.kill('SIGINT')
        await second.exited
        await broker.stop()
      }
      expect([...seqs()].map(Number).sort((a, b) => a - b)).toEqual(Array.from({length: N}, (_, i) => i))
    })
  }
})
