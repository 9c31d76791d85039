/**
 * The file sink on a full disk (a real 256 KiB tmpfs, which needs root to mount): the rows that do not fit are
 * retried with backoff (the warning shows), no checkpoint is committed over them, the run ends with a clear failure
 * (exit 1), and once there is room again the next run writes every message the broker delivered.
 *
 * Mounting needs root: without it the suite is skipped with a notice, except under CI=true, where it must run.
 */
import {execFileSync} from 'node:child_process'
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, describe, expect, it} from 'vitest'
import {startCli, type StartedCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

const root = process.getuid?.() === 0
if (!root && process.env.CI !== 'true') process.stderr.write('NOTICE: skipping "file sink on a full disk": mounting a tmpfs needs root\n')

const dir = mkdtempSync(join(tmpdir(), 'iotd-full-disk-'))
const disk = join(dir, 'disk')
let mounted = false
let running: StartedCli | undefined

afterAll(async () => {
  // A failed assertion leaves the run going: stop it (by its PID) before unmounting its disk.
  if (running && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGKILL')
    await running.exited
  }
  if (mounted) execFileSync('umount', [disk])
  rmSync(dir, {recursive: true, force: true})
})

const COUNT = 1000

async function publish(url: string, topic: string): Promise<void> {
  const pub = await mqtt.connectAsync(url, {clientId: `full-disk-pub-${process.pid}`})
  const pad = 'x'.repeat(60)
  for (let seq = 0; seq < COUNT; seq += 100) {
    await Promise.all(Array.from({length: Math.min(100, COUNT - seq)}, (_, i) => pub.publishAsync(topic, JSON.stringify({seq: seq + i, pad}), {qos: 1})))
  }
  await pub.endAsync()
}

/** The seq of every line of the file; a torn or invalid line fails the test. */
function seqsIn(file: string): number[] {
  const text = readFileSync(file, 'utf8')
  expect(text === '' || text.endsWith('\n')).toBe(true)
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as {seq: number}).seq)
}

const suite = root || process.env.CI === 'true' ? describeMosquitto : describe.skip

suite('file sink on a full disk (tmpfs)', () => {
  it('retries with backoff, commits no checkpoint over unwritten rows, fails the run; the next run writes every message', {timeout: 90_000}, async () => {
    mkdirSync(disk)
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', disk])
    mounted = true
    // Most of the disk taken: about 500 of the 1,000 rows (~100 bytes each) fit.
    const filler = join(disk, 'filler')
    writeFileSync(filler, Buffer.alloc(200 * 1024))
    const broker = await startMosquitto()
    const topic = `full-disk/${process.pid}`
    const out = join(disk, 'out.jsonl')
    const file = join(dir, 'f.yaml')
    writeFileSync(
      file,
      `version: 1
name: full-disk
sources:
  m: {type: mqtt, url: "${broker.url}", topics: ["${topic}"], qos: 1, clientId: full-disk-${process.pid}, clean: false}
state: {interval: 300ms}
shutdown: {timeout: 1s}
rules:
  - name: pass
    sql: SELECT seq, pad FROM m
    sinks:
      - {type: file, path: "${out}", retry: {initial: 50ms, max: 300ms}}
`,
    )
    const state = ['--state-dir', join(dir, 'state')]
    let run = (running = startCli(['pipeline', 'run', file, ...state]))
    await expect.poll(() => run.stderr(), {timeout: 20_000}).toMatch(/in \d/)
    await publish(broker.url, topic)
    await expect.poll(() => run.stderr(), {timeout: 20_000}).toMatch(/sink pass\.file: cannot write .*out\.jsonl: the disk is full; retrying with backoff/)
    // A few checkpoint intervals while failing: none may cover the rows that are not on disk.
    await new Promise((ok) => setTimeout(ok, 1500))
    expect(run.stderr()).toMatch(/retries [1-9]/)
    run.child.kill('SIGINT')
    let result = await run.exited
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/Error: sink pass\.file \(file\) was still failing at the shutdown timeout: cannot write .*the disk is full/)
    const before = seqsIn(out)
    expect(before.length).toBeGreaterThan(0)
    expect(before.length).toBeLessThan(COUNT)

    // Room again: the next run writes what the first acknowledged to the broker (input log) and did not write.
    rmSync(filler)
    run = running = startCli(['pipeline', 'run', file, ...state])
    await expect.poll(() => new Set(seqsIn(out)).size, {timeout: 30_000, interval: 200}).toBe(COUNT)
    run.child.kill('SIGINT')
    result = await run.exited
    expect(result.code).toBe(130)
    const seqs = new Set(seqsIn(out))
    for (let seq = 0; seq < COUNT; seq++) expect(seqs.has(seq), `seq ${seq}`).toBe(true)
  })
})
