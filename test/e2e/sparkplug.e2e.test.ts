import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {MqttClient} from 'mqtt'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {SparkplugHostSession} from '../../src/sparkplug/host-session.js'
import {decodePayload} from '../../src/sparkplug/payload.js'
import {parseSparkplugTopic} from '../../src/sparkplug/topic.js'
import {ROOT, RUN, runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'
import {describeSparkplugPeer, peerDecode, peerEncode, type PeerPayload} from '../helpers/sparkplug-peer.js'

/**
 * Sparkplug B acceptance against a real mosquitto: iotd's births and data decoded by an independent protobuf
 * implementation (protoc + python3-protobuf), and the host behaviours a Sparkplug host relies on: the will carries the
 * birth's bdSeq (kill -9), rebirth on NCMD, seq wrapping 255 -> 0, DCMD writes, and holding data while the primary
 * host is offline.
 */

const dir = mkdtempSync(join(tmpdir(), 'edge-spb-e2e-'))
const GROUP = `edge-${process.pid}`

function scenario(opts: {every: string; primaryHost?: string; nodes?: number; extra?: string}): string {
  return `version: 1
name: sparkplug-e2e
seed: 11
sparkplug:
  - name: line
    group: ${GROUP}
    nodes: ${opts.nodes ?? 2}
    nodeId: "node-{index}"
    devices: 2
    deviceId: "dev-{number}"
    every: ${opts.every}
${opts.primaryHost ? `    primaryHost: ${opts.primaryHost}\n` : ''}${opts.extra ?? ''}    nodeMetrics:
      - {name: Uptime, type: UInt32, units: s, value: {kind: counter, start: 0, step: 1}}
    metrics:
      - {name: I8, type: Int8, value: -7}
      - {name: I16, type: Int16, value: -300}
      - {name: I32, type: Int32, value: -70000}
      - {name: I64, type: Int64, value: -1234567890123}
      - {name: U32, type: UInt32, value: 4000000000}
      - {name: U64, type: UInt64, value: 9007199254740991}
      - {name: F, type: Float, units: °C, value: 21.5, properties: {engLow: -40, engHigh: 125}}
      - {name: D, type: Double, value: {kind: counter, start: 0.25, step: 1}}
      - {name: B, type: Boolean, value: true}
      - {name: S, type: String, value: "line {node}/{deviceId}"}
      - {name: Setpoint, type: Double, units: bar, writable: true, value: 10}
`
}

interface Captured {
  topic: string
  payload: Buffer
  at: number
}

let broker: Mosquitto
let watcher: MqttClient
const captured: Captured[] = []

function sparkplugOf(c: Captured) {
  return parseSparkplugTopic(c.topic)
}

function ofType(type: string, node?: string): Captured[] {
  return captured.filter((c) => {
    const t = sparkplugOf(c)
    return t?.kind === 'message' && t.type === type && (node === undefined || t.node === node)
  })
}

/** A CLI process whose output is read while it runs. */
function startCli(args: string[]): {child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null>} {
  const child = spawn(process.execPath, [RUN, ...args], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  return {child, out: () => out, err: () => err, exited}
}

function startSim(file: string): ChildProcess {
  const child = spawn(process.execPath, [RUN, 'sim', file, '--broker', broker.url, '--duration', '2m'], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
  child.stdout?.resume()
  child.stderr?.resume()
  return child
}

describeSparkplugPeer('Sparkplug B end to end', () => {
  describeMosquitto('against mosquitto', () => {
    beforeAll(async () => {
      broker = await startMosquitto()
      watcher = await connectOnce({url: broker.url, clientId: `edge-watch-${process.pid}`})
      watcher.on('message', (topic, payload) => captured.push({topic, payload: Buffer.from(payload), at: Date.now()}))
      await watcher.subscribeAsync('spBv1.0/#', {qos: 1})
    })
    afterAll(async () => {
      await watcher?.endAsync()
      await broker?.stop()
    })

    it('python3-protobuf decodes iotd\'s NBIRTH, DBIRTH and DDATA: names, aliases, datatypes, values, seq, bdSeq', {timeout: 60_000}, async () => {
      const file = join(dir, 'types.yaml')
      writeFileSync(file, scenario({every: '100ms', nodes: 1}))
      const before = captured.length
      const result = await runCli(['sim', file, '--broker', broker.url, '--duration', '1500ms'], {timeoutMs: 30_000})
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).toMatch(/sparkplug\s+line \(group .*\): 1 edge node, 2 devices; 1 NBIRTH, 2 DBIRTHs/)
      await expect.poll(() => captured.slice(before).filter((c) => c.topic.includes('/NDEATH/')).length).toBe(1)
      const decoded = peerDecode(captured.slice(before))
      const nbirth = decoded.find((d) => d.topic.includes('/NBIRTH/')) as PeerPayload
      expect(nbirth.seq).toBe(0)
      expect(nbirth.metrics.find((m) => m.name === 'bdSeq')).toEqual({name: 'bdSeq', datatype: 'Int64', value: 0})
      expect(nbirth.metrics.find((m) => m.name === 'Node Control/Rebirth')).toMatchObject({datatype: 'Boolean', value: false})
      expect(nbirth.metrics.find((m) => m.name === 'Uptime')).toMatchObject({datatype: 'UInt32', properties: {engUnit: 's'}})

      const dbirth = decoded.find((d) => d.topic.endsWith(`/DBIRTH/node-0/dev-2`)) as PeerPayload
      const byName = new Map(dbirth.metrics.map((m) => [m.name, m]))
      expect(byName.get('I8')).toMatchObject({datatype: 'Int8', value: -7})
      expect(byName.get('I16')).toMatchObject({datatype: 'Int16', value: -300})
      expect(byName.get('I32')).toMatchObject({datatype: 'Int32', value: -70000})
      expect(byName.get('I64')).toMatchObject({datatype: 'Int64', value: -1234567890123})
      expect(byName.get('U32')).toMatchObject({datatype: 'UInt32', value: 4000000000})
      expect(byName.get('U64')).toMatchObject({datatype: 'UInt64', value: 9007199254740991})
      expect(byName.get('F')).toMatchObject({datatype: 'Float', value: 21.5, properties: {engUnit: '°C', engLow: -40, engHigh: 125}})
      expect(byName.get('B')).toMatchObject({datatype: 'Boolean', value: true})
      expect(byName.get('S')).toMatchObject({datatype: 'String', value: 'line node-0/dev-2'})
      expect(byName.get('Setpoint')).toMatchObject({datatype: 'Double', value: 10, properties: {engUnit: 'bar'}})
      // Aliases are unique within the edge node (node metrics and every device's).
      const aliases = decoded.filter((d) => /\/(N|D)BIRTH\//.test(d.topic)).flatMap((d) => d.metrics.filter((m) => m.alias !== undefined).map((m) => m.alias))
      expect(new Set(aliases).size).toBe(aliases.length)

      // DDATA: by exception (only D changes), alias only, no datatype; the value read through the birth's alias.
      const ddata = decoded.filter((d) => d.topic.endsWith('/DDATA/node-0/dev-2'))
      expect(ddata.length).toBeGreaterThan(3)
      const dAlias = byName.get('D')?.alias
      for (const m of ddata) {
        expect(m.metrics).toHaveLength(1)
        expect(m.metrics[0]).toMatchObject({alias: dAlias})
        expect(m.metrics[0].name).toBeUndefined()
        expect(m.metrics[0].datatype).toBeUndefined()
      }
      const born = byName.get('D')?.value as number
      expect(ddata.map((m) => m.metrics[0].value)).toEqual(ddata.map((_, i) => born + 1 + i))
      // seq: 0 at NBIRTH, +1 for every later message of the node, NDEATH (the end of the run) carries the bdSeq.
      const seqs = decoded.filter((d) => !d.topic.includes('/NDEATH/')).map((d) => d.seq)
      expect(seqs).toEqual(seqs.map((_, i) => i % 256))
      const ndeath = decoded.find((d) => d.topic.includes('/NDEATH/')) as PeerPayload
      expect(ndeath.seq).toBeUndefined()
      expect(ndeath.metrics).toEqual([{name: 'bdSeq', datatype: 'Int64', value: 0}])
      expect(decoded.filter((d) => d.topic.includes('/DDEATH/'))).toHaveLength(2)
    })

    it('host behaviours: seq wraps without a gap, DCMD writes, rebirth, primary host offline holds data, kill -9 sends the birth\'s bdSeq', async () => {
      const host = `scada-${process.pid}`
      const setState = (online: boolean) => watcher.publishAsync(`spBv1.0/STATE/${host}`, JSON.stringify({online, timestamp: Date.now()}), {qos: 1, retain: true})
      await setState(true)
      const file = join(dir, 'host.yaml')
      writeFileSync(file, scenario({every: '20ms', primaryHost: host}))
      const from = captured.length
      const sim = startSim(file)
      try {
        const since = () => captured.slice(from)
        // Two NBIRTH (seq 0), then the data; the counter metrics change every sample, so each sample is 3 messages.
        await expect.poll(() => ofType('NBIRTH').filter((c) => captured.indexOf(c) >= from).length, {timeout: 30_000}).toBe(2)
        const seenWrap = () =>
          since().some((c) => /\/(NDATA|DDATA)\/node-0/.test(c.topic) && decodePayload(c.payload).seq === 0)
        await expect.poll(() => seenWrap(), {timeout: 20_000, interval: 200}).toBe(true)

        // DCMD Setpoint = 42.5, encoded by the independent peer (by name, as a host may): the next DDATA says 42.5.
        const dbirth = peerDecode(ofType('DBIRTH', 'node-1').filter((c) => c.topic.endsWith('/dev-1')).slice(-1))[0]
        const setpointAlias = dbirth.metrics.find((m) => m.name === 'Setpoint')?.alias
        const cmdAt = captured.length
        await watcher.publishAsync(`spBv1.0/${GROUP}/DCMD/node-1/dev-1`, peerEncode({timestamp: Date.now(), metrics: [{name: 'Setpoint', datatype: 'Double', value: 42.5}]}), {qos: 0})
        await expect
          .poll(() => peerDecode(captured.slice(cmdAt).filter((c) => c.topic.endsWith('/DDATA/node-1/dev-1'))).flatMap((d) => d.metrics).find((m) => m.alias === setpointAlias)?.value, {timeout: 5000})
          .toBe(42.5)

        // Rebirth: NBIRTH (seq 0, the same bdSeq) and both DBIRTHs of that node.
        const rebirthAt = captured.length
        await watcher.publishAsync(`spBv1.0/${GROUP}/NCMD/node-1`, peerEncode({metrics: [{name: 'Node Control/Rebirth', datatype: 'Boolean', value: true}]}), {qos: 0})
        await expect.poll(() => captured.slice(rebirthAt).filter((c) => /\/DBIRTH\/node-1\//.test(c.topic)).length, {timeout: 5000}).toBe(2)
        const reborn = peerDecode(captured.slice(rebirthAt).filter((c) => c.topic.endsWith('/NBIRTH/node-1')))
        expect(reborn).toHaveLength(1)
        expect(reborn[0].seq).toBe(0)
        expect(reborn[0].metrics.find((m) => m.name === 'bdSeq')?.value).toBe(0)

        // The primary host goes offline: every node sends NDEATH and publishes nothing until the host is back.
        const offlineAt = captured.length
        await setState(false)
        await expect.poll(() => captured.slice(offlineAt).filter((c) => c.topic.includes('/NDEATH/')).length, {timeout: 5000}).toBe(2)
        const deathsAt = captured.length
        // Held for a while (40+ sample periods) before the host returns.
        await expect.poll(() => Date.now() - captured[deathsAt - 1].at, {timeout: 5000}).toBeGreaterThan(1000)
        const onlineAt = captured.length
        await setState(true)
        await expect.poll(() => captured.slice(onlineAt).filter((c) => c.topic.includes('/NBIRTH/')).length, {timeout: 10_000}).toBe(2)
        const between = captured.slice(deathsAt, onlineAt).filter((c) => c.topic.startsWith(`spBv1.0/${GROUP}/`))
        expect(between.map((c) => c.topic)).toEqual([])
        const newBirths = peerDecode(captured.slice(onlineAt).filter((c) => c.topic.includes('/NBIRTH/')))
        expect(newBirths.map((b) => b.metrics.find((m) => m.name === 'bdSeq')?.value)).toEqual([1, 1])
        await expect.poll(() => captured.slice(onlineAt).filter((c) => c.topic.includes('/DDATA/')).length, {timeout: 5000}).toBeGreaterThan(4)

        // kill -9: the broker delivers each node's will, an NDEATH with the bdSeq of its current NBIRTH.
        const killAt = captured.length
        sim.kill('SIGKILL')
        await expect.poll(() => captured.slice(killAt).filter((c) => c.topic.includes('/NDEATH/')).length, {timeout: 10_000}).toBe(2)
        const wills = peerDecode(captured.slice(killAt).filter((c) => c.topic.includes('/NDEATH/')))
        expect(wills.map((w) => w.metrics)).toEqual([
          [{name: 'bdSeq', datatype: 'Int64', value: 1}],
          [{name: 'bdSeq', datatype: 'Int64', value: 1}],
        ])

        // A host reading the whole run found no gap, no data before a birth and no stale bdSeq.
        const host2 = new SparkplugHostSession()
        for (const c of since()) host2.observe(c.topic, c.payload)
        expect(host2.counters).toMatchObject({seqGaps: 0, dataBeforeBirth: 0, staleBdSeq: 0, unknownAliases: 0, decodeErrors: 0})
        expect(host2.counters.data).toBeGreaterThan(500)
      } finally {
        if (sim.exitCode === null && sim.signalCode === null) sim.kill('SIGKILL')
        await setState(false)
      }
    }, 90_000)

    it('store and forward: samples taken while the primary host is offline follow the next birth as historical DDATA, in order, at their own times, none missing; held = forwarded in the summary', {timeout: 90_000}, async () => {
      const host = `scada-sf-${process.pid}`
      const setState = (online: boolean) => watcher.publishAsync(`spBv1.0/STATE/${host}`, JSON.stringify({online, timestamp: Date.now()}), {qos: 1, retain: true})
      await setState(true)
      const file = join(dir, 'store-forward.yaml')
      writeFileSync(file, scenario({every: '20ms', primaryHost: host, nodes: 1, extra: '    storeAndForward: {max: 100000}\n'}))
      const from = captured.length
      const sim = startCli(['sim', file, '--broker', broker.url, '--duration', '2m', '--json'])
      const dev1 = (since: number) => captured.slice(since).filter((c) => c.topic.endsWith('/node-0/dev-1'))
      try {
        await expect.poll(() => dev1(from).filter((c) => c.topic.includes('/DDATA/')).length, {timeout: 30_000}).toBeGreaterThan(5)
        const offlineAt = captured.length
        await setState(false)
        await expect.poll(() => captured.slice(offlineAt).filter((c) => c.topic.includes('/NDEATH/node-0')).length, {timeout: 5000}).toBe(1)
        const deathAt = captured.length
        await expect.poll(() => Date.now() - captured[deathAt - 1].at, {timeout: 5000}).toBeGreaterThan(1000)
        const onlineAt = captured.length
        await setState(true)
        await expect.poll(() => dev1(onlineAt).filter((c) => c.topic.includes('/DDATA/') && !decodePayload(c.payload).metrics.some((m) => m.isHistorical)).length, {timeout: 10_000}).toBeGreaterThan(2)

        // D is a counter that moves every sample: its values say whether any sample is missing or repeated.
        const dAlias = decodePayload(dev1(from).find((c) => c.topic.includes('/DBIRTH/'))!.payload).metrics.find((m) => m.name === 'D')!.alias
        const dOf = (c: Captured) => decodePayload(c.payload).metrics.find((m) => m.alias === dAlias || m.name === 'D')
        // Live data up to the NDEATH: a DDATA already on its way when the host went offline arrives before it.
        const liveBefore = captured.slice(from, deathAt).filter((c) => c.topic.endsWith('/node-0/dev-1') && c.topic.includes('/DDATA/'))
        const lastLive = dOf(liveBefore.at(-1)!)!
        const after = dev1(onlineAt)
        expect(after[0].topic).toContain('/DBIRTH/')
        const historical = after.filter((c) => c.topic.includes('/DDATA/') && decodePayload(c.payload).metrics.every((m) => m.isHistorical))
        const live = after.filter((c) => c.topic.includes('/DDATA/') && !historical.includes(c))
        expect(historical.length).toBeGreaterThan(20)
        // Historical messages come right after the births, before any live data.
        expect(after.indexOf(historical.at(-1)!)).toBeLessThan(after.indexOf(live[0]))
        const values = historical.map((c) => dOf(c)!.value as number)
        expect(values).toEqual(values.map((_, i) => (lastLive.value as number) + 1 + i))
        const times = historical.map((c) => Number(dOf(c)!.timestamp))
        for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1])
        expect(times[0]).toBeGreaterThan(Number(lastLive.timestamp))
        const rebirth = decodePayload(after[0].payload)
        expect(times.at(-1)!).toBeLessThanOrEqual(Number(rebirth.timestamp))
        // The birth carries the value of the latest sample; live data goes on from there.
        expect(rebirth.metrics.find((m) => m.name === 'D')!.value).toBe(values.at(-1))
        expect(dOf(live[0])!.value).toBe(values.at(-1)! + 1)

        const hostView = new SparkplugHostSession()
        for (const c of captured.slice(from)) if (c.topic.includes(`/${GROUP}/`)) hostView.observe(c.topic, c.payload)
        expect(hostView.counters).toMatchObject({seqGaps: 0, dataBeforeBirth: 0, staleBdSeq: 0, unknownAliases: 0, decodeErrors: 0})

        sim.child.kill('SIGINT')
        await sim.exited
        const summary = JSON.parse(sim.out())
        const g = summary.sparkplug.groups[0]
        expect(g.held).toBeGreaterThan(40)
        expect(g.forwarded + g.storeDropped).toBe(g.held)
        expect(g.storeDropped).toBe(0)
      } finally {
        if (sim.child.exitCode === null && sim.child.signalCode === null) sim.child.kill('SIGKILL')
        await setState(false)
      }
    })

    it('iotd tail and the pipeline decode what the independent python encoder wrote: names from births, signed values, no host problems', {timeout: 90_000}, async () => {
      const group = `${GROUP}-py`
      const node = `spBv1.0/${group}`
      const messages: Array<[string, Buffer]> = [
        [`${node}/NBIRTH/n1`, peerEncode({timestamp: 1000, seq: 0, metrics: [{name: 'bdSeq', datatype: 'Int64', value: 4}, {name: 'Uptime', alias: 1, datatype: 'UInt32', value: 7}]})],
        [`${node}/DBIRTH/n1/d1`, peerEncode({timestamp: 1001, seq: 1, metrics: [{name: 'Level', alias: 2, datatype: 'Int16', value: -12}, {name: 'Temp', alias: 3, datatype: 'Float', value: 21.5}, {name: 'Count', alias: 4, datatype: 'UInt64', value: '18446744073709551615'}, {name: 'Mode', alias: 5, datatype: 'String', value: 'auto'}]})],
        [`${node}/DDATA/n1/d1`, peerEncode({timestamp: 1002, seq: 2, metrics: [{alias: 2, datatype: 'Int16', value: -13, omitDatatype: true}, {alias: 5, datatype: 'String', value: 'manual', omitDatatype: true}]})],
        [`${node}/NDATA/n1`, peerEncode({timestamp: 1003, seq: 3, metrics: [{alias: 1, datatype: 'UInt32', value: 8, omitDatatype: true}]})],
      ]
      const pipelineFile = join(dir, 'py.yaml')
      writeFileSync(pipelineFile, `version: 1\nname: edge-py\nsources:\n  plant: {type: mqtt, url: "${broker.url}", topics: ["${node}/#", "spBv1.0/STATE/${group}"], payload: sparkplugb}\nrules:\n  - name: all\n    sql: SELECT * FROM plant\n    sinks: [{type: stdout, format: ndjson}]\n`)
      const tail = startCli(['tail', `${node}/#`, '--broker', broker.url, '--format', 'ndjson', '--count', '4', '--stats'])
      const tailText = startCli(['tail', `${node}/#`, '--broker', broker.url, '--count', '4', '--no-color'])
      const pipeline = startCli(['pipeline', 'run', pipelineFile, '--no-state', '--duration', '30s', '--json'])
      try {
        await expect.poll(() => /subscribed/.test(tail.err()) && /subscribed/.test(tailText.err()), {timeout: 30_000}).toBe(true)
        // The pipeline says nothing when it has subscribed: a probe on a STATE topic it also reads shows it.
        await expect
          .poll(
            async () => {
              await watcher.publishAsync(`spBv1.0/STATE/${group}`, JSON.stringify({online: true, timestamp: 1}))
              return pipeline.out().includes(`"host":"${group}"`)
            },
            {timeout: 30_000, interval: 300},
          )
          .toBe(true)
        for (const [topic, payload] of messages) await watcher.publishAsync(topic, payload, {qos: 1})
        expect(await tail.exited).toBe(0)
        expect(await tailText.exited).toBe(0)
        const lines = tail
          .out()
          .split('\n')
          .filter((l) => l.startsWith('{'))
        // --stats prints the table and the host checks' line instead of the messages.
        expect(tail.out()).toMatch(/sparkplug\s+4 messages \(2 births, 0 deaths, 2 data, 0 commands, 0 STATE\) · seq gaps 0 · missed 0 · data before birth 0 · stale bdSeq 0 · unknown aliases 0 · undecodable 0/)
        expect(lines).toEqual([])
        const text = tailText.out()
        expect(text).toMatch(/DBIRTH seq 1 {2}Level:Int16=-12 {2}Temp:Float=21.5 {2}Count:UInt64=18446744073709551615 {2}Mode:String="auto"/)
        expect(text).toMatch(/DDATA seq 2 {2}Level=-13 {2}Mode="manual"/)
        expect(text).not.toMatch(/↳/)
        await expect.poll(() => pipeline.out().split('\n').filter((l) => l.includes('"n1"')).length, {timeout: 10_000}).toBe(9)
        pipeline.child.kill('SIGINT')
        await pipeline.exited
        const rows = pipeline
          .out()
          .split('\n')
          .filter((l) => l.includes('"n1"'))
          .map((l) => JSON.parse(l) as Record<string, unknown>)
        // (SELECT * leaves out the null units of these metrics.)
        const ddata = rows.filter((r) => r.type === 'DDATA')
        expect(ddata).toHaveLength(2)
        expect(ddata[0]).toMatchObject({type: 'DDATA', group_id: group, edge_node_id: 'n1', device_id: 'd1', seq: 2, name: 'Level', alias: 2, datatype: 'Int16', value: -13, timestamp: 1002})
        expect(ddata[1]).toMatchObject({type: 'DDATA', group_id: group, edge_node_id: 'n1', device_id: 'd1', seq: 2, name: 'Mode', alias: 5, datatype: 'String', value: 'manual', timestamp: 1002})
        expect(ddata.map((r) => r.units ?? null)).toEqual([null, null])
        const ndata = rows.find((r) => r.type === 'NDATA') as Record<string, unknown>
        expect(ndata).toMatchObject({name: 'Uptime', value: 8, datatype: 'UInt32'})
        expect(ndata.device_id ?? null).toBeNull()
        expect(rows.find((r) => r.name === 'Count')).toMatchObject({value: '18446744073709551615'})
        expect(rows.find((r) => r.name === 'bdSeq')).toMatchObject({type: 'NBIRTH', bdSeq: 4, value: 4})
      } finally {
        for (const p of [tail, tailText, pipeline]) if (p.child.exitCode === null) p.child.kill('SIGKILL')
      }
    })

    it('record keeps the Sparkplug bytes exactly, and the replayed capture passes a host\'s checks in iotd tail --stats', async () => {
      const file = join(dir, 'replay.yaml')
      writeFileSync(file, scenario({every: '50ms'}).replace(`group: ${GROUP}`, `group: ${GROUP}-rec`))
      const capture = join(dir, 'sparkplug.csv')
      const filter = `spBv1.0/${GROUP}-rec/#`
      const record = startCli(['record', filter, '--broker', broker.url, '-o', capture])
      await expect.poll(() => /recording/.test(record.err() + record.out()), {timeout: 30_000}).toBe(true)
      const from = captured.length
      const sim = await runCli(['sim', file, '--broker', broker.url, '--duration', '2s'], {timeoutMs: 30_000})
      expect(sim.code, sim.stderr).toBe(0)
      // Everything the sim sent (its NDEATHs last) reached the recorder as it reached the watcher.
      await expect.poll(() => captured.slice(from).filter((c) => c.topic.startsWith(`spBv1.0/${GROUP}-rec/NDEATH/`)).length).toBe(2)
      const original = captured.slice(from).filter((c) => c.topic.startsWith(`spBv1.0/${GROUP}-rec/`))
      await expect.poll(() => (record.err() + record.out()).length > 0 && record.child.kill('SIGINT') && true).toBe(true)
      expect(await record.exited).toBe(130) // interrupted, as asked
      expect(record.err() + record.out()).toMatch(new RegExp(`recorded ${original.length} messages`))

      const tail = startCli(['tail', filter, '--broker', broker.url, '--stats', '--count', String(original.length)])
      await expect.poll(() => /subscribed/.test(tail.err()), {timeout: 30_000}).toBe(true)
      const replayFrom = captured.length
      const replay = await runCli(['replay', capture, '--broker', broker.url, '--speed', '4'], {timeoutMs: 60_000})
      expect(replay.code, replay.stderr).toBe(0)
      expect(await tail.exited).toBe(0)
      const replayed = captured.slice(replayFrom).filter((c) => c.topic.startsWith(`spBv1.0/${GROUP}-rec/`))
      expect(replayed.map((c) => `${c.topic} ${c.payload.toString('hex')}`)).toEqual(original.map((c) => `${c.topic} ${c.payload.toString('hex')}`))
      expect(tail.out()).toMatch(new RegExp(`sparkplug\\s+${original.length.toLocaleString('en-US')} messages \\(6 births, 6 deaths, \\d[\\d,]* data, 0 commands, 0 STATE\\) · seq gaps 0 · missed 0 · data before birth 0 · stale bdSeq 0 · unknown aliases 0 · undecodable 0`))
    }, 90_000)
  })
})
