/**
 * kill -9 of `iotd pipeline run` (mqtt QoS 1, clean: false -> file sink, state dir), then a re-run: the re-run
 * resumes from the checkpoint and appends, so every published message is in the file (duplicates allowed,
 * at-least-once). Before, the re-run opened the file with 'w' and erased the rows the checkpoint covered.
 */
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, expect, it} from 'vitest'
import {startCli, type StartedCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-file-resume-'))
const started: StartedCli[] = []

afterAll(async () => {
  for (const run of started) {
    if (run.child.exitCode === null && run.child.signalCode === null) {
      run.child.kill('SIGKILL')
      await run.exited
    }
  }
})

const COUNT = 1600

/** Publishes seq 0..COUNT-1 at about 200/s, QoS 1. */
async function publish(url: string, topic: string): Promise<void> {
  const pub = await mqtt.connectAsync(url, {clientId: `file-resume-pub-${process.pid}`})
  for (let seq = 0; seq < COUNT; seq += 20) {
    await Promise.all(Array.from({length: 20}, (_, i) => pub.publishAsync(topic, JSON.stringify({seq: seq + i}), {qos: 1})))
    await new Promise((ok) => setTimeout(ok, 100))
  }
  await pub.endAsync()
}

function seqsIn(file: string): Set<number> {
  if (!existsSync(file)) return new Set()
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '')
  return new Set(lines.map((l) => (JSON.parse(l) as {seq: number}).seq))
}

describeMosquitto('file sink after kill -9', () => {
  it('the re-run resumes from the checkpoint and appends: every published message is in the file', {timeout: 90_000}, async () => {
    const broker = await startMosquitto()
    const topic = `file-resume/${process.pid}`
    const out = join(dir, 'out2.jsonl')
    const file = join(dir, 'f.yaml')
    writeFileSync(
      file,
      `version: 1
name: file-resume
sources:
  m: {type: mqtt, url: "${broker.url}", topics: ["${topic}"], qos: 1, clientId: file-resume-${process.pid}, clean: false}
state: {interval: 300ms}
rules:
  - name: pass
    sql: SELECT seq FROM m
    sinks:
      - {type: file, path: "${out}"}
`,
    )
    const state = ['--state-dir', join(dir, 'st2')]
    const first = startCli(['pipeline', 'run', file, ...state])
    started.push(first)
    await expect.poll(() => first.stderr(), {timeout: 20_000}).toMatch(/in \d/)
    const publishing = publish(broker.url, topic)
    // Several checkpoints into the stream (8 s of 1,600 at 200/s: about half of it), then a crash.
    await expect.poll(() => seqsIn(out).size, {timeout: 30_000, interval: 100}).toBeGreaterThan(600)
    await new Promise((ok) => setTimeout(ok, 1000))
    expect(existsSync(join(dir, 'st2', 'checkpoint.v8'))).toBe(true)
    first.child.kill('SIGKILL')
    await first.exited
    const beforeKill = seqsIn(out)

    const second = startCli(['pipeline', 'run', file, ...state])
    started.push(second)
    await publishing
    await expect.poll(() => seqsIn(out).size, {timeout: 30_000, interval: 200}).toBe(COUNT)
    second.child.kill('SIGINT')
    const result = await second.exited
    expect(result.code).toBe(130)
    expect(result.stderr).toMatch(/resumed from the checkpoint of/)
    const seqs = seqsIn(out)
    for (const seq of beforeKill) expect(seqs.has(seq), `seq ${seq} (written before the kill)`).toBe(true)
    for (let seq = 0; seq < COUNT; seq++) expect(seqs.has(seq), `seq ${seq}`).toBe(true)
  })
})
