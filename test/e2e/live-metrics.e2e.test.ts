/**
 * Acceptance: `--metrics` on a running sim, bench, record, replay and pipeline run serves Prometheus text that the
 * reference parser (python3 prometheus_client) accepts, while the run goes on and, with --metrics-hold, after it
 * ended; the counters scraped after the end equal the run's own final summary (--json).
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {startCli, type StartedCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'
import {parsePrometheus, prometheusParserAvailable, total, type Sample} from '../helpers/prometheus-parser.js'
import {freePort} from '../helpers/ports.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-sinks-metrics-'))
const parserOk = prometheusParserAvailable()
if (!parserOk && process.env.CI === 'true') throw new Error('python3-prometheus-client is not installed, and CI=true: install it so this suite runs')
if (!parserOk) process.stderr.write('NOTICE: skipping the live-metrics acceptance: python3 prometheus_client is not installed (apt-get install python3-prometheus-client)\n')

interface Watched {
  cli: StartedCli
  url: string
  /** Scrapes until the parser accepts the text and `ready` holds. */
  scrape(ready: (m: Record<string, Sample[]>) => boolean): Promise<Record<string, Sample[]>>
}

async function start(args: string[]): Promise<Watched> {
  const port = await freePort()
  const cli = startCli([...args, '--metrics', `127.0.0.1:${port}`, '--metrics-hold', '5s', '--json'])
  const url = `http://127.0.0.1:${port}/metrics`
  return {
    cli,
    url,
    async scrape(ready) {
      let parsed: Record<string, Sample[]> = {}
      await expect
        .poll(
          async () => {
            const res = await fetch(url).catch(() => undefined)
            if (!res || res.status !== 200) return false
            const text = await res.text()
            if (text === '') return false
            parsed = parsePrometheus(text)
            return ready(parsed)
          },
          {timeout: 30_000, interval: 100},
        )
        .toBe(true)
      return parsed
    },
  }
}

/** The run's --json summary once it is on stdout (the process then holds the endpoint open). */
async function summaryOf(w: Watched): Promise<Record<string, unknown>> {
  let summary: Record<string, unknown> | undefined
  await expect
    .poll(
      () => {
        try {
          summary = JSON.parse(w.cli.stdout()) as Record<string, unknown>
          return true
        } catch {
          return w.cli.child.exitCode !== null ? `exited ${w.cli.child.exitCode}: ${w.cli.stderr()}` : false
        }
      },
      {timeout: 60_000, interval: 50},
    )
    .toBe(true)
  return summary!
}

const describeWithParser = parserOk ? describeMosquitto : describe.skip

describeWithParser('--metrics on every long-running command', () => {
  let broker: Mosquitto
  const started: StartedCli[] = []
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null) s.child.kill('SIGKILL')
    await broker?.stop()
  })

  it('sim: live figures while it runs, the summary\'s figures after', {timeout: 90_000}, async () => {
    writeFileSync(
      join(dir, 'sim.yaml'),
      `version: 1
name: sinks-metrics
seed: 3
fleets:
  - {name: meter, count: 5, id: "m-{index}", topic: "sinks/metrics/{deviceId}", every: 100ms, qos: 1, fields: {v: {kind: uniform, min: 0, max: 1}}}
  - {name: gauge, count: 3, id: "g-{index}", topic: "sinks/metrics/{deviceId}", every: 200ms, fields: {v: {kind: uniform, min: 0, max: 1}}}
`,
    )
    const w = await start(['sim', join(dir, 'sim.yaml'), '--broker', broker.url, '--duration', '4s'])
    started.push(w.cli)
    const live = await w.scrape((m) => (total(m, 'iotd_sim_messages_published_total') ?? 0) > 0)
    expect(live.iotd_sim_devices.map((s) => s.labels.fleet).sort()).toEqual(['gauge', 'meter'])
    const summary = (await summaryOf(w)) as {totals: Record<string, number>}
    const end = await w.scrape(() => true)
    expect(total(end, 'iotd_sim_messages_published_total')).toBe(summary.totals.published)
    expect(total(end, 'iotd_sim_messages_acked_total')).toBe(summary.totals.acked)
    expect(total(end, 'iotd_sim_published_bytes_total')).toBe(summary.totals.bytes)
    expect(total(end, 'iotd_sim_messages_dropped_total')).toBe(summary.totals.dropped)
    expect(summary.totals.published).toBeGreaterThan(20)
    expect((await w.cli.exited).code).toBe(0)
  })

  it('bench: sent and received counters equal the result\'s counts', {timeout: 90_000}, async () => {
    const w = await start(['bench', '--broker', broker.url, '--rate', '2000/s', '--duration', '4s', '--warmup', '0s', '--topic', 'sinks/bench/%i'])
    started.push(w.cli)
    await w.scrape((m) => (total(m, 'iotd_bench_messages_sent_total') ?? 0) > 0)
    const result = (await summaryOf(w)) as {counts: Record<string, number | null>}
    const end = await w.scrape(() => true)
    expect(total(end, 'iotd_bench_messages_sent_total')).toBe(result.counts.sent)
    expect(total(end, 'iotd_bench_messages_received_total')).toBe(result.counts.received)
    expect(total(end, 'iotd_bench_messages_dropped_total')).toBe(result.counts.dropped)
    expect(total(end, 'iotd_bench_errors_total')).toBe(result.counts.errors)
    expect(result.counts.sent).toBeGreaterThan(1000)
    expect([0, 99]).toContain((await w.cli.exited).code)
  })

  it('record: received, recorded and bytes equal the summary', {timeout: 90_000}, async () => {
    const w = await start(['record', 'sinks/rec/#', '--broker', broker.url, '--out', join(dir, 'rec.csv'), '--count', '300'])
    started.push(w.cli)
    const client = await connectOnce({url: broker.url, clientId: `sinks-metrics-pub-${process.pid}`})
    try {
      // Publish until the recorder is subscribed and counting, then the rest.
      let sent = 0
      const publishSome = async (n: number) => {
        for (let i = 0; i < n; i++) await client.publishAsync(`sinks/rec/${sent % 3}`, JSON.stringify({i: sent++}))
      }
      await expect
        .poll(async () => {
          await publishSome(10)
          const res = await fetch(w.url).catch(() => undefined)
          return res ? (total(parsePrometheus(await res.text()), 'iotd_record_messages_received_total') ?? 0) > 0 : false
        }, {timeout: 30_000, interval: 1000})
        .toBe(true)
      await publishSome(300)
    } finally {
      await client.endAsync()
    }
    const summary = (await summaryOf(w)) as {received: number; recorded: number; bytes: number}
    const end = await w.scrape(() => true)
    expect(total(end, 'iotd_record_messages_received_total')).toBe(summary.received)
    expect(total(end, 'iotd_record_messages_recorded_total')).toBe(summary.recorded)
    expect(total(end, 'iotd_record_written_bytes_total')).toBe(summary.bytes)
    expect(summary.recorded).toBe(300)
  })

  it('replay: rows, published and skipped equal the summary', {timeout: 90_000}, async () => {
    const rows = ['ts,topic,qos,retain,encoding,payload']
    const t0 = 1_700_000_000_000_000
    for (let i = 0; i < 600; i++) rows.push(`${t0 + i * 1000},sinks/replay/${i % 4},0,false,utf8,"{""i"":${i}}"`)
    rows.push('not-a-time,sinks/replay/x,0,false,utf8,{}')
    writeFileSync(join(dir, 'replay.csv'), `${rows.join('\n')}\n`)
    const w = await start(['replay', join(dir, 'replay.csv'), '--broker', broker.url, '--rate', '200/s'])
    started.push(w.cli)
    await w.scrape((m) => (total(m, 'iotd_replay_messages_published_total') ?? 0) > 0)
    const summary = (await summaryOf(w)) as {rows: number; published: number; skipped: number; notSent: number}
    const end = await w.scrape(() => true)
    expect(total(end, 'iotd_replay_rows_total')).toBe(summary.rows)
    expect(total(end, 'iotd_replay_messages_published_total')).toBe(summary.published)
    expect(total(end, 'iotd_replay_rows_skipped_total')).toBe(summary.skipped)
    expect(total(end, 'iotd_replay_rows_not_sent_total')).toBe(summary.notSent)
    expect(total(end, 'iotd_replay_connection_losses_total')).toBe(0)
    expect(summary.published).toBe(600)
    expect(summary.skipped).toBe(1)
  })

  it('pipeline run: events in and rows written equal the summary', {timeout: 90_000}, async () => {
    writeFileSync(
      join(dir, 'flow.yaml'),
      `version: 1
name: sinks-metrics-flow
sources:
  plant: {type: sim, scenario: sim.yaml, duration: 4s, clock: real}
rules:
  - name: all
    sql: SELECT v FROM plant WHERE v > 0.5
    sinks: [{type: file, path: flow-out.jsonl}]
state: false
`,
    )
    const w = await start(['pipeline', 'run', join(dir, 'flow.yaml')])
    started.push(w.cli)
    await w.scrape((m) => (total(m, 'iotd_pipeline_events_in_total') ?? 0) > 0)
    const summary = (await summaryOf(w)) as {eventsIn: number; sinks: {written: number}[]; rules: {filtered: number}[]}
    const end = await w.scrape(() => true)
    expect(total(end, 'iotd_pipeline_events_in_total')).toBe(summary.eventsIn)
    expect(total(end, 'iotd_pipeline_sink_written_total')).toBe(summary.sinks[0].written)
    expect(total(end, 'iotd_pipeline_rule_filtered_total')).toBe(summary.rules[0].filtered)
    expect(summary.eventsIn).toBeGreaterThan(50)
  })
})

/**
 * `--metrics 0` takes a port the OS picks, and stderr is the only place that says which: sim and bench printed it
 * through their reporter's info lines, which --quiet and --json (stderr into a pipe) mute, so the endpoint could not
 * be found. The address must be on stderr in every mode, with stdout still the product alone.
 */
describeMosquitto('--metrics 0 tells its address on stderr in every mode', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
    writeFileSync(join(dir, 'told.yaml'), 'version: 1\nname: told\nfleets:\n  - {name: t, count: 3, topic: "told/{deviceId}", every: 200ms, fields: {v: 1}}\n')
  })
  afterAll(async () => {
    await broker?.stop()
  })

  /** Starts the command, waits for the address on stderr, and scrapes it while the run goes on. */
  async function told(args: string[]): Promise<{stdout: string; stderr: string; code: number | null}> {
    const cli = startCli([...args, '--metrics', '0', '--metrics-hold', '2s'])
    try {
      let url: string | undefined
      await expect
        .poll(() => {
          url = /^metrics: (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m.exec(cli.stderr())?.[1]
          return url !== undefined || cli.child.exitCode !== null
        }, {timeout: 30_000, interval: 50})
        .toBe(true)
      expect(url, `${args.join(' ')}: stderr was ${JSON.stringify(cli.stderr())}`).toBeDefined()
      const res = await fetch(url!)
      expect(res.status).toBe(200)
      const r = await cli.exited
      return {stdout: r.stdout, stderr: r.stderr, code: r.code}
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL')
    }
  }

  for (const mode of ['--quiet', '--json'] as const) {
    it(`sim and bench with ${mode}`, {timeout: 90_000}, async () => {
      const [sim, bench] = await Promise.all([
        told(['sim', join(dir, 'told.yaml'), '--broker', broker.url, '--duration', '3s', mode]),
        told(['bench', '--broker', broker.url, '--rate', '100/s', '--duration', '3s', '--warmup', '0s', '--topic', 'told/bench/%i', mode]),
      ])
      expect(sim.code, sim.stderr).toBe(0)
      expect([0, 99]).toContain(bench.code)
      for (const r of [sim, bench]) {
        expect(r.stderr).toMatch(/^metrics: serving the final figures at http:\/\/127\.0\.0\.1:\d+\/metrics for 2s$/m)
        expect(r.stdout).not.toContain('metrics:')
        if (mode === '--json') expect(() => JSON.parse(r.stdout)).not.toThrow()
      }
    })
  }
})
