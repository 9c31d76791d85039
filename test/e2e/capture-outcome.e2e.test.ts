/**
 * #13 items 17 and 18 as a user meets them (the built CLI, a private mosquitto): a replay or a recording that did
 * none of what it was asked never exits 0, and what the summary counts adds up.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {runCli, ROOT, RUN, type CliResult} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-loud-capture-'))
const HEADER = 'ts,topic,qos,retain,encoding,payload\n'

/** Runs `iotd record …` until it exits; `ready` resolves once it has subscribed (its "recording" line on stderr). */
function record(args: string[]): {ready: Promise<void>; done: Promise<CliResult>} {
  const child = spawn(process.execPath, [RUN, 'record', ...args], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, FORCE_COLOR: undefined}})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  const ready = new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      if (/^recording /m.test(stderr)) resolve()
    })
    child.once('close', () => reject(new Error(`record exited before subscribing: ${stderr}`)))
  })
  ready.catch(() => {})
  const done = new Promise<CliResult>((resolve) => child.once('close', (code, signal) => resolve({code, signal, stdout, stderr})))
  return {ready, done}
}

function rows(file: string): Array<Record<string, string>> {
  return parse(readFileSync(file, 'utf8'), {columns: true}) as Array<Record<string, string>>
}

describeMosquitto('replay and record: no exit 0 for a run that did nothing (a real mosquitto)', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('replay exits 1 when every row was bad, and 0 when one row was published', async () => {
    const allBad = join(work, 'all-bad.csv')
    writeFileSync(allBad, `${HEADER}yesterday,loud/a,0,0,utf8,x\n1767225600000,loud/#,0,0,utf8,y\n`)
    const r = await runCli(['replay', allBad, '--broker', broker.url, '--max-speed'])
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toMatch(/published {2}0 /)
    expect(r.stderr).toContain(`nothing was replayed: all 2 rows of ${allBad} were skipped`)
    const json = await runCli(['replay', allBad, '--broker', broker.url, '--max-speed', '--json'])
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({rows: 2, published: 0, skipped: 2})

    const oneGood = join(work, 'one-good.csv')
    writeFileSync(oneGood, `${HEADER}yesterday,loud/a,0,0,utf8,x\n1767225600000,loud/a,0,0,utf8,y\n`)
    const ok = await runCli(['replay', oneGood, '--broker', broker.url, '--max-speed'])
    expect(ok.code, ok.stderr).toBe(0)
  })

  it('a header-only or empty file: replay exits 1 with "nothing to replay", as docs/capture-format.md says', async () => {
    const doc = readFileSync(join(ROOT, 'docs/capture-format.md'), 'utf8')
    const row = doc.split('\n').find((l) => l.startsWith('| header only, or an empty file'))
    expect(row, 'the odd-CSV table has a header-only row').toBeDefined()
    expect(row).toContain('exits 1')
    expect(row).toContain('nothing to replay')
    expect(row).not.toMatch(/no error/)
    for (const f of ['header-only.csv', 'empty.csv']) {
      const file = join(ROOT, 'test/fixtures/csv', f)
      const r = await runCli(['replay', file, '--broker', broker.url, '--max-speed'])
      expect(r.code, r.stderr).toBe(1)
      expect(r.stdout).toMatch(/rows {7}0\n/)
      expect(r.stderr).toContain(`nothing to replay: ${file} has no rows`)
    }
  })

  it('replay refuses the last row of a file cut short (no line end) and says so', async () => {
    const cut = join(work, 'cut.csv')
    writeFileSync(cut, `${HEADER}1767225600000,loud/a,0,0,utf8,"{""x"":1}"\n1767225600100,loud/a,0,0,utf8,"{"`)
    const r = await runCli(['replay', cut, '--broker', broker.url, '--max-speed', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout)
    expect(summary).toMatchObject({rows: 2, published: 1, skipped: 1})
    expect(summary.badRows[0]).toMatchObject({row: 3, reason: expect.stringContaining('the last row has no line end')})
  })

  it('record on MQTT 5 keeps the retain flag of messages published retained while it records (retain-as-published)', async () => {
    const out = join(work, 'rap.csv')
    const rec = record(['loud/rap/#', '--broker', broker.url, '--out', out, '--mqtt-version', '5', '--qos', '1', '--count', '2'])
    await rec.ready
    const pub = await connectOnce({url: broker.url, clientId: 'loud-rap-pub'})
    await pub.publishAsync('loud/rap/kept', 'stored', {qos: 1, retain: true})
    await pub.publishAsync('loud/rap/plain', 'passing', {qos: 1})
    await pub.publishAsync('loud/rap/kept', '', {qos: 1, retain: true})
    await pub.endAsync()
    const r = await rec.done
    expect(r.code, r.stderr).toBe(0)
    expect(rows(out).map((row) => [row.topic, row.retain])).toEqual([
      ['loud/rap/kept', '1'],
      ['loud/rap/plain', '0'],
    ])
  })

  it('record acknowledges only what is on disk: on a full disk it ends with the summary and exit 1, and a persistent session gets the lost messages again', async () => {
    const session = ['--broker', broker.url, '--qos', '1', '--client-id', `loud-rec-${process.pid}`, '--no-clean']
    const full = record(['loud/full/#', ...session, '--out', '/dev/full', '--duration', '30s'])
    await full.ready
    const pub = await connectOnce({url: broker.url, clientId: 'loud-full-pub'})
    for (let i = 0; i < 5; i++) await pub.publishAsync('loud/full/x', `m${i}`, {qos: 1})
    const failed = await full.done
    expect(failed.code, failed.stderr).toBe(1)
    expect(failed.stdout).toMatch(/^recording failed: recorded 0 messages/m)
    expect(failed.stdout).toMatch(/received \d+: 0 recorded, \d+ not recorded \(after the error; not acknowledged\)/)
    expect(failed.stderr).toContain('cannot write /dev/full: the disk is full')

    // Nothing was acknowledged, so the broker sends all five to the same session again.
    const out = join(work, 'again.csv')
    const again = record(['loud/full/#', ...session, '--out', out, '--count', '5'])
    await again.ready
    const r = await again.done
    await pub.endAsync()
    expect(r.code, r.stderr).toBe(0)
    expect(rows(out).map((row) => row.payload)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4'])
  })
})
