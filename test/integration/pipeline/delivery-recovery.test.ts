/**
 * Issue #12, acceptance 3 and 4: sinks that recover, as a user runs `iotd pipeline run`.
 *
 * - 3: mqtt -> mqtt with the output broker stopped with SIGTERM, later killed with SIGKILL, and restarted each time:
 *   a persistent QoS 1 subscriber on the output broker sees every sequence number (duplicates counted, not lost),
 *   and the retries show in the progress lines and the summary.
 * - 4: mqtt -> PostgreSQL with the database unreachable for 90 s (a TCP proxy in the test refuses and cuts every
 *   connection): no row dead-lettered, none lost, and the pipeline's memory stays bounded while the queue is full
 *   and the sources are paused (the figure is printed for the notes).
 */
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, expect, it} from 'vitest'
import {startCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'
import {PG_URL, pgAvailable, pgQuery, startPgProxy, uniqueTable} from './pg-helpers.js'

const available = await pgAvailable()
if (!available && process.env.CI === 'true') throw new Error(`PostgreSQL is not reachable at ${PG_URL} (required under CI=true)`)
const dir = mkdtempSync(join(tmpdir(), 'iotd-delivery-recovery-'))
const table = uniqueTable('delivery_outage')

afterAll(async () => {
  if (available) await pgQuery(`DROP TABLE IF EXISTS "${table}"`)
})

/** The outage of acceptance 4 (90 s; shorter only when someone debugs the test by hand). */
const OUTAGE_MS = Number(process.env.IOTD_TEST_OUTAGE_MS ?? 90_000)

const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms))

/** Publishes `count` messages {seq} (from `first` on) at `rate`/s, QoS 1, awaiting PUBACKs in windows of 200. */
async function publishSeq(url: string, topic: string, count: number, rate: number, first = 0): Promise<void> {
  const pub = await mqtt.connectAsync(url, {clientId: `delivery-pub-${process.pid}-${Math.random().toString(16).slice(2, 8)}`})
  const started = Date.now()
  let outstanding: Promise<unknown>[] = []
  for (let seq = first; seq < first + count; seq++) {
    outstanding.push(pub.publishAsync(topic, JSON.stringify({seq, ts: Date.now()}), {qos: 1}))
    if (outstanding.length >= 200) {
      await Promise.all(outstanding)
      outstanding = []
    }
    const due = started + ((seq - first + 1) * 1000) / rate
    if (due - Date.now() > 2) await sleep(due - Date.now())
  }
  await Promise.all(outstanding)
  await pub.endAsync()
}

/** Resident set size of a process in MB (Linux). */
function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) / 1024 : undefined
  } catch {
    return undefined
  }
}

describeMosquitto('delivery: sinks that recover (issue #12 acceptance 3 and 4)', () => {
  it('mqtt -> mqtt: output broker stopped (SIGTERM), later killed (SIGKILL), restarted: every sequence number arrives', {timeout: 120_000}, async () => {
    const input = await startMosquitto()
    const output = await startMosquitto({persistence: true})
    const topicIn = `delivery/${process.pid}/in`
    const topicOut = `delivery/${process.pid}/out`
    const file = join(dir, 'm2m.yaml')
    writeFileSync(
      file,
      `version: 1
name: delivery-m2m
sources:
  src: {type: mqtt, url: "${input.url}", topics: ["${topicIn}"], qos: 1, clientId: delivery-m2m-in-${process.pid}, clean: false}
rules:
  - name: forward
    sql: SELECT seq FROM src
    sinks:
      - {type: mqtt, url: "${output.url}", topic: "${topicOut}", qos: 1, retry: {initial: 100ms, max: 1s}}
`,
    )
    // The persistent subscriber: its session and QoS 1 queue survive the output broker's restarts.
    const seen = new Map<number, number>()
    const sub = await mqtt.connectAsync(output.url, {clientId: `delivery-sub-${process.pid}`, clean: false, reconnectPeriod: 200})
    sub.on('message', (_t, payload) => {
      const seq = (JSON.parse(payload.toString()) as {seq: number}).seq
      seen.set(seq, (seen.get(seq) ?? 0) + 1)
    })
    await sub.subscribeAsync(topicOut, {qos: 1})
    const run = startCli(['pipeline', 'run', file, '--state-dir', join(dir, 'state-m2m')])
    try {
      await expect.poll(() => run.stderr(), {timeout: 20_000}).toMatch(/in \d/)
      const total = 3000
      const publishing = publishSeq(input.url, topicIn, total, 300)
      await sleep(2500)
      output.kill('SIGTERM')
      await sleep(2000)
      await output.restart()
      await sleep(2500)
      output.kill('SIGKILL')
      await sleep(2000)
      await output.restart()
      await publishing
      await expect.poll(() => seen.size, {timeout: 40_000, interval: 250}).toBe(total)
      const duplicates = [...seen.values()].reduce((a, n) => a + n - 1, 0)
      process.stderr.write(`acceptance 3: ${total} sequence numbers, 0 lost, ${duplicates} duplicates\n`)
      // Retries are visible while they happen and in the summary.
      expect(run.stderr()).toMatch(/sink forward\.mqtt: .*retrying with backoff until it is back/)
      expect(run.stderr()).toMatch(/written again after \d+ retr/)
      run.child.kill('SIGINT')
      const result = await run.exited
      expect(result.code).toBe(130)
      expect(result.stderr).toMatch(/sink forward\.mqtt \(mqtt\): [\d,]+ rows in [\d,]+ batches, [\d,]+ retries/)
      expect(result.stderr).not.toMatch(/dead-lettered/)
    } finally {
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await sub.endAsync()
      await input.stop()
      await output.stop()
    }
  })

  it.skipIf(!available)('mqtt -> PostgreSQL unreachable for 90 s: 0 dead-lettered, 0 lost, memory bounded', {timeout: 200_000}, async () => {
    const broker = await startMosquitto()
    const proxy = await startPgProxy()
    const topic = `delivery/${process.pid}/outage`
    const deadLetter = join(dir, 'outage-dead-letter.jsonl')
    const file = join(dir, 'outage.yaml')
    writeFileSync(
      file,
      `version: 1
name: delivery-outage
sources:
  src: {type: mqtt, url: "${broker.url}", topics: ["${topic}"], qos: 1, clientId: delivery-outage-${process.pid}, clean: false, timestamp: ts}
deadLetter: ${deadLetter}
rules:
  - name: store
    sql: SELECT seq, ts FROM src
    sinks:
      - {type: postgres, url: "${proxy.url}", table: ${table}, key: [seq], time: [ts], createTable: true, batch: {count: 500, interval: 200ms}, retry: {initial: 200ms, max: 2s}}
`,
    )
    const run = startCli(['pipeline', 'run', file, '--state-dir', join(dir, 'state-outage')])
    const rss: number[] = []
    const sampler = setInterval(() => {
      const v = rssMb(run.pid)
      if (v !== undefined) rss.push(v)
    }, 500)
    try {
      await expect.poll(() => run.stderr(), {timeout: 20_000}).toMatch(/in \d/)
      const total = 30_000
      // 1,000 rows reach the table first (the table exists), then the database goes away for 90 s.
      await publishSeq(broker.url, topic, 1000, 2000)
      await expect.poll(async () => Number((await pgQuery<{n: string}>(`SELECT count(*)::text AS n FROM "${table}"`).catch(() => [{n: '0'}]))[0].n), {timeout: 20_000}).toBe(1000)
      const cutAt = Date.now()
      proxy.cut(OUTAGE_MS)
      // 29,000 more during the outage: the queue fills, the source pauses, the broker keeps the rest.
      await publishSeq(broker.url, topic, total - 1000, 2000, 1000)
      const rssDuringOutage = () => rss.slice(-10)
      await sleep(Math.max(0, cutAt + OUTAGE_MS - Date.now()))
      const peakOutage = Math.max(...rss)
      await expect
        .poll(async () => Number((await pgQuery<{n: string}>(`SELECT count(*)::text AS n FROM "${table}"`))[0].n), {timeout: 60_000, interval: 1000, message: `pipeline stderr:\n${run.stderr().slice(-3000)}`})
        .toBe(total)
      process.stderr.write(`acceptance 4: RSS at start ${rss[0]?.toFixed(0)} MB, peak during the ${OUTAGE_MS / 1000} s outage ${peakOutage.toFixed(0)} MB, its last 5 s (every 0.5 s) ${rssDuringOutage().map((v) => v.toFixed(0)).join('/')} MB\n`)
      // Bounded: the queue holds at most queue + one source batch of rows; 30,000 rows do not all come in.
      expect(peakOutage).toBeLessThan(400)
      expect(run.stderr()).toMatch(/retrying with backoff until it is back/)
      run.child.kill('SIGINT')
      const result = await run.exited
      expect(result.code).toBe(130)
      expect(result.stderr).not.toMatch(/dead-lettered|dead letter: /)
      expect(existsSync(deadLetter) ? readFileSync(deadLetter, 'utf8') : '').toBe('')
    } finally {
      clearInterval(sampler)
      if (run.child.exitCode === null) run.child.kill('SIGKILL')
      await proxy.close()
      await broker.stop()
    }
  })
})
