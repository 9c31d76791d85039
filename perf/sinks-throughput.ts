/**
 * Issue #15, acceptance 5: the data sinks' throughput, each through `iotd pipeline run` as a user runs it (a child
 * process of the built CLI), against private servers on OS-assigned ports.
 *
 *   influx  csv source (POINTS readings of 500 devices) -> rule -> influxdb sink into a local influxd (1.x /write, batches of 5000):
 *           points/s = rows the sink wrote / the run's elapsed time; InfluxDB's own count is checked against it, and
 *           the CPU of iotd and of influxd over the run are shown (a server at ~100 % of a core is the ceiling).
 *   nats    a JetStream stream holding N messages -> nats source (durable pull consumer, explicit acks) -> rule ->
 *           file sink: msg/s = N / (time from the first message taken to the consumer's pending and ack-pending
 *           both 0), with the pipeline's state (input log, the default) and with --no-state (acks after the file
 *           sink took the rows).
 *
 *   npm run build && flock /tmp/iotd-perf.lock node --import tsx perf/sinks-throughput.ts [--runs 3] [--points 500000] [--messages 300000] [--only influx|nats]
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {cpus, loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {connect} from '@nats-io/transport-node'
import {AckPolicy, jetstream, jetstreamManager} from '@nats-io/jetstream'
import {startInfluxd} from '../test/helpers/influxd.js'
import {startNatsServer} from '../test/helpers/nats-server.js'
import {harnessOptions, pickCases} from './harness-args.js'
import {median, procCpuSeconds} from './run-figures.js'
import {startSampledCli} from './timed-cli.js'

const options = harnessOptions({runs: 3, points: 500_000, messages: 300_000, only: ''})
const RUNS = options.runs
const POINTS = options.points
const MESSAGES = options.messages
const chosenSinks = pickCases(options.only ? [options.only] : [], ['influx', 'nats'])
const work = mkdtempSync(join(tmpdir(), 'iotd-perf-sinks-'))

/** User + system CPU seconds of a process so far; 0 when it cannot be read. */
const cpuSeconds = (pid: number | undefined): number => procCpuSeconds(pid) ?? 0

async function influxRuns(): Promise<void> {
  const influx = await startInfluxd()
  // A CSV of POINTS readings from 500 devices, one a second each: the csv source reads ~1M rows/s here, so the
  // figure is the sink's and InfluxDB's, not the input's.
  const devices = 500
  const t0 = Date.UTC(2026, 0, 1)
  const rows = ['time,deviceId,temp,power']
  for (let i = 0; i < POINTS; i++) rows.push(`${t0 + Math.floor(i / devices) * 1000},meter-${String(i % devices).padStart(4, '0')},${(20 + ((i * 7919) % 400) / 100).toFixed(2)},${((i * 104729) % 5000) / 1000}`)
  writeFileSync(join(work, 'readings.csv'), `${rows.join('\n')}\n`)
  const rates: number[] = []
  const perCpu: number[] = []
  try {
    for (let run = 1; run <= RUNS; run++) {
      const db = `perf_${run}`
      const file = join(work, `influx-${run}.yaml`)
      writeFileSync(
        file,
        `version: 1
name: perf-influx-${run}
sources:
  plant: {type: csv, path: readings.csv, timeColumn: time, timeFormat: epoch-ms, topic: "plant/{deviceId}", payloadColumns: [deviceId, temp, power]}
rules:
  - name: store
    sql: SELECT deviceId, temp, power FROM plant
    sinks:
      - {type: influxdb, url: ${influx.url}, database: ${db}, createDatabase: true, measurement: meter, tags: [deviceId], batch: {count: 5000, interval: 0}, queue: 20000}
state: false
`,
      )
      const influxCpu0 = cpuSeconds(influx.pid)
      const p = startSampledCli(['pipeline', 'run', file, '--json', '--quiet'])
      const r = await p.done
      const influxCpu = cpuSeconds(influx.pid) - influxCpu0
      if (r.code !== 0) throw new Error(`pipeline exited ${r.code}: ${r.stderr} ${r.stdout.slice(0, 2000)}`)
      const s = JSON.parse(r.stdout) as {elapsedMs: number; sinks: {written: number; batches: number; deadLettered: number}[]}
      const written = s.sinks[0].written
      const stored = await influx.count(db, 'meter', 'temp')
      const rate = (written * 1000) / s.elapsedMs
      rates.push(rate)
      perCpu.push(written / r.cpuSeconds)
      console.log(
        `influx run ${run}: ${written.toLocaleString('en-US')} points in ${(s.elapsedMs / 1000).toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} points/s` +
          ` (${s.sinks[0].batches} batches, dead-lettered ${s.sinks[0].deadLettered}); InfluxDB count ${stored.toLocaleString('en-US')}${stored === written ? ' = written' : ' != written'};` +
          ` CPU iotd ${r.cpuSeconds.toFixed(1)} s (${Math.round((r.cpuSeconds * 100000) / s.elapsedMs)} % of a core; ${Math.round(written / r.cpuSeconds).toLocaleString('en-US')} points per CPU-second),` +
          ` influxd ${influxCpu.toFixed(1)} s (${Math.round((influxCpu * 100000) / s.elapsedMs)} %; ${Math.round(written / influxCpu).toLocaleString('en-US')} points per CPU-second)`,
      )
    }
    console.log(`influx median of ${RUNS}: ${Math.round(median(rates)).toLocaleString('en-US')} points/s wall, ${Math.round(median(perCpu)).toLocaleString('en-US')} points per iotd CPU-second`)
  } finally {
    await influx.stop()
  }
}

async function natsRuns(): Promise<void> {
  const server = await startNatsServer()
  const nc = await connect({servers: server.url})
  const jsm = await jetstreamManager(nc)
  const js = jetstream(nc)
  await jsm.streams.add({name: 'PERF', subjects: ['perf.>']})
  const t0 = performance.now()
  for (let seq = 0; seq < MESSAGES; seq += 2000) {
    const batch: Promise<unknown>[] = []
    for (let k = seq; k < Math.min(MESSAGES, seq + 2000); k++) batch.push(js.publish(`perf.d${k % 100}`, JSON.stringify({deviceId: `d${k % 100}`, seq: k, temp: 20 + (k % 17)})))
    await Promise.all(batch)
  }
  console.log(`nats: ${MESSAGES.toLocaleString('en-US')} messages stored in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  try {
    for (const state of ['state', 'no-state'] as const) {
      const rates: number[] = []
      const perCpu: number[] = []
      for (let run = 1; run <= RUNS; run++) {
        const consumer = `perf-${state}-${run}`
        await jsm.consumers.add('PERF', {durable_name: consumer, ack_policy: AckPolicy.Explicit, max_ack_pending: 20_000})
        const file = join(work, `${consumer}.yaml`)
        writeFileSync(
          file,
          `version: 1
name: ${consumer}
sources:
  feed: {type: nats, url: ${server.url}, stream: PERF, consumer: ${consumer}}
rules:
  - sql: SELECT deviceId, seq, temp FROM feed WHERE temp > 18
    sinks: [{type: file, path: ${consumer}.jsonl, batch: {count: 5000, interval: 0}, queue: 20000}]
`,
        )
        const p = startSampledCli(['pipeline', 'run', file, '--quiet', '--state-dir', join(work, `${consumer}-state`), ...(state === 'no-state' ? ['--no-state'] : [])])
        let first = 0
        let done = 0
        while (!done) {
          const c = await jsm.consumers.info('PERF', consumer)
          const t = performance.now()
          if (!first && (c.delivered.stream_seq > 0 || c.num_ack_pending > 0)) first = t
          if (first && c.num_pending === 0 && c.num_ack_pending === 0) done = t
          else await new Promise((r) => setTimeout(r, 20))
        }
        const cpu = cpuSeconds(p.pid)
        perCpu.push(MESSAGES / cpu)
        p.kill('SIGINT')
        await p.done
        const lines = readFileSync(join(work, `${consumer}.jsonl`), 'utf8').trim().split('\n').length
        const rate = (MESSAGES * 1000) / (done - first)
        rates.push(rate)
        console.log(
          `nats ${state} run ${run}: ${MESSAGES.toLocaleString('en-US')} acked in ${((done - first) / 1000).toFixed(2)} s = ${Math.round(rate).toLocaleString('en-US')} msg/s; ${lines.toLocaleString('en-US')} rows in the file; iotd CPU ${cpu.toFixed(1)} s`,
        )
      }
      console.log(`nats ${state} median of ${RUNS}: ${Math.round(median(rates)).toLocaleString('en-US')} msg/s wall (first message taken -> pending and ack-pending 0), ${Math.round(median(perCpu)).toLocaleString('en-US')} msg per iotd CPU-second (startup included)`)
    }
  } finally {
    await nc.close()
    await server.stop()
  }
}

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, load ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
if (chosenSinks.includes('influx')) await influxRuns()
if (chosenSinks.includes('nats')) await natsRuns()
console.log(`load after: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`)
