/**
 * Acceptance: a pipeline split across processes. Three `iotd pipeline run` on one MQTT shared subscription
 * ($share/group/filter, QoS 1) and three on one JetStream durable consumer each take a disjoint part of 100,000
 * messages, and together all of them: no loss, no duplicates, every replica takes a share.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connect, type NatsConnection} from '@nats-io/transport-node'
import {AckPolicy, jetstream, jetstreamManager, type JetStreamManager} from '@nats-io/jetstream'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {parse as parseYaml, parseAllDocuments} from 'yaml'
import {ROOT, runCli, startCli, type StartedCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'
import {natsServerBinary, startNatsServer, type NatsServer} from '../helpers/nats-server.js'
import {describeWithBinary} from '../helpers/needs-binary.js'
import {freePort} from '../helpers/ports.js'

const N = 100_000
const REPLICAS = 3
const dir = mkdtempSync(join(tmpdir(), 'iotd-sinks-replicas-'))

interface Replica {
  cli: StartedCli
  out: string
  metrics: string
}

async function startReplicas(name: string, source: string): Promise<Replica[]> {
  const replicas: Replica[] = []
  for (let i = 0; i < REPLICAS; i++) {
    const out = join(dir, `${name}-${i}.jsonl`)
    const file = join(dir, `${name}-${i}.yaml`)
    writeFileSync(
      file,
      `version: 1
name: ${name}-${i}
sources:
  feed: ${source}
rules:
  - sql: SELECT seq FROM feed
    sinks: [{type: file, path: ${out}, batch: {count: 1000, interval: 100ms}, queue: 10000}]
`,
    )
    const port = await freePort()
    const cli = startCli(['pipeline', 'run', file, '--state-dir', join(dir, `${name}-${i}-state`), '--metrics', `127.0.0.1:${port}`, '--quiet'])
    replicas.push({cli, out, metrics: `http://127.0.0.1:${port}/metrics`})
  }
  return replicas
}

async function eventsIn(r: Replica): Promise<number> {
  const res = await fetch(r.metrics).catch(() => undefined)
  if (!res) return -1
  const m = /^iotd_pipeline_events_in_total\{[^}]*\} (\d+)$/m.exec(await res.text())
  return m ? Number(m[1]) : 0
}

/** Stops the replicas (Ctrl-C: drain, exit 130) and checks their outputs: disjoint, and all N together. */
async function stopAndCheck(replicas: Replica[]): Promise<number[]> {
  for (const r of replicas) r.cli.child.kill('SIGINT')
  for (const r of replicas) {
    const end = await r.cli.exited
    expect(end.code, end.stderr).toBe(130)
  }
  const seen = new Uint8Array(N)
  const shares: number[] = []
  let duplicates = 0
  for (const r of replicas) {
    const lines = readFileSync(r.out, 'utf8').trim().split('\n')
    shares.push(lines.length)
    for (const l of lines) {
      // The file sink's jsonl line is the row itself.
      const seq = (JSON.parse(l) as {seq: number}).seq
      if (seen[seq]++ > 0) duplicates++
    }
  }
  expect({duplicates, missing: seen.filter((c) => c === 0).length}).toEqual({duplicates: 0, missing: 0})
  expect(shares.reduce((a, b) => a + b, 0)).toBe(N)
  for (const s of shares) expect(s).toBeGreaterThan(N / 20)
  return shares
}

describeMosquitto('pipeline replicas on an MQTT shared subscription', () => {
  let broker: Mosquitto
  let replicas: Replica[] = []
  beforeAll(async () => {
    broker = await startMosquitto()
  })
  afterAll(async () => {
    for (const r of replicas) if (r.cli.child.exitCode === null) r.cli.child.kill('SIGKILL')
    await broker?.stop()
  })

  it('three processes on $share/sinks/... take disjoint parts of 100,000 QoS 1 messages whose union is all', {timeout: 180_000}, async () => {
    replicas = await startReplicas('sinks-share', `{type: mqtt, url: ${broker.url}, topics: ['$share/sinks/sinks/replicas/#'], qos: 1, clean: true}`)
    // All three connected (and so subscribed a moment later) before the first message. The $SYS value is the one of
    // the broker's last tick, when this reader was not yet connected, so it counts the replicas only.
    await expect.poll(async () => Number(await broker.readSys('broker/clients/connected').catch(() => '0')), {timeout: 60_000, interval: 500}).toBeGreaterThanOrEqual(REPLICAS)
    const client = await connectOnce({url: broker.url, clientId: `sinks-replicas-pub-${process.pid}`})
    try {
      for (let seq = 0; seq < N; seq += 1000) {
        const batch: Promise<unknown>[] = []
        for (let k = seq; k < seq + 1000; k++) batch.push(client.publishAsync(`sinks/replicas/d${k % 50}`, JSON.stringify({seq: k}), {qos: 1}))
        await Promise.all(batch)
      }
    } finally {
      await client.endAsync()
    }
    await expect.poll(async () => (await Promise.all(replicas.map(eventsIn))).reduce((a, b) => a + b, 0), {timeout: 120_000, interval: 500}).toBe(N)
    const shares = await stopAndCheck(replicas)
    process.stderr.write(`$share replicas: ${shares.join(' + ')} = ${N}\n`)
  })
})

describeWithBinary('pipeline replicas on one JetStream consumer', {name: 'nats-server', path: natsServerBinary(), install: 'apt-get install nats-server'}, () => {
  let server: NatsServer
  let nc: NatsConnection
  let jsm: JetStreamManager
  let replicas: Replica[] = []
  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({servers: server.url})
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    for (const r of replicas) if (r.cli.child.exitCode === null) r.cli.child.kill('SIGKILL')
    await nc?.close()
    await server?.stop()
  })

  it('three processes on one durable consumer take disjoint parts of 100,000 messages whose union is all', {timeout: 180_000}, async () => {
    await jsm.streams.add({name: 'SINKS_REPLICAS', subjects: ['replicas.>']})
    await jsm.consumers.add('SINKS_REPLICAS', {durable_name: 'split', ack_policy: AckPolicy.Explicit, max_ack_pending: 5000})
    const js = jetstream(nc)
    for (let seq = 0; seq < N; seq += 1000) {
      const batch: Promise<unknown>[] = []
      for (let k = seq; k < seq + 1000; k++) batch.push(js.publish(`replicas.d${k % 50}`, JSON.stringify({seq: k})))
      await Promise.all(batch)
    }
    replicas = await startReplicas('sinks-js', `{type: nats, url: ${server.url}, stream: SINKS_REPLICAS, consumer: split, pull: 500}`)
    await expect
      .poll(async () => {
        const c = await jsm.consumers.info('SINKS_REPLICAS', 'split')
        return [c.num_pending, c.num_ack_pending]
      }, {timeout: 120_000, interval: 500})
      .toEqual([0, 0])
    const shares = await stopAndCheck(replicas)
    process.stderr.write(`JetStream replicas: ${shares.join(' + ')} = ${N}\n`)
  })
})

describe('deploy/replicas', () => {
  it('the example\'s pipeline file lints clean and its StatefulSet runs it with --metrics on every replica', async () => {
    const docs = parseAllDocuments(readFileSync(join(ROOT, 'deploy/replicas/pipeline-replicas.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, never>)
    const config = docs.find((d) => d.kind === 'ConfigMap') as unknown as {data: Record<string, string>}
    const set = docs.find((d) => d.kind === 'StatefulSet') as unknown as {spec: {replicas: number; template: {spec: {containers: {args: string[]}[]}}}}
    const file = join(dir, 'hot-readings.yaml')
    writeFileSync(file, config.data['hot-readings.yaml'])
    expect((parseYaml(config.data['hot-readings.yaml']) as {sources: {plant: {topics: string[]}}}).sources.plant.topics[0]).toMatch(/^\$share\//)
    const lint = await runCli(['pipeline', 'lint', file])
    expect(lint.code, lint.stdout + lint.stderr).toBe(0)
    expect(set.spec.replicas).toBeGreaterThan(1)
    expect(set.spec.template.spec.containers[0].args).toEqual(['pipeline', 'run', '/config/hot-readings.yaml', '--metrics=0.0.0.0:9464', '--quiet'])
  })
})
