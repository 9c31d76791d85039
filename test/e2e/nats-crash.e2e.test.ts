/**
 * Acceptance: JetStream -> rule with windows -> JetStream, the pipeline killed with SIGKILL in the middle of the
 * stream and started again. Every input message's effect appears once in the output: each message's sequence is in
 * exactly one output row's list (the rows carry collect(seq)), one row per device and window (the sink's msgId drops
 * a window row computed again after the restart), and the consumer's pending and ack-pending counts return to 0.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connect, type NatsConnection} from '@nats-io/transport-node'
import {jetstream, jetstreamManager, type JetStreamManager} from '@nats-io/jetstream'
import {startCli, type StartedCli} from '../helpers/cli.js'
import {natsServerBinary, startNatsServer, streamMessages, type NatsServer} from '../helpers/nats-server.js'
import {describeWithBinary} from '../helpers/needs-binary.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-sinks-natscrash-'))

describeWithBinary('nats: kill -9 of a windowed pipeline', {name: 'nats-server', path: natsServerBinary(), install: 'apt-get install nats-server'}, () => {
  let server: NatsServer
  let nc: NatsConnection
  let jsm: JetStreamManager
  const started: StartedCli[] = []
  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({servers: server.url})
    jsm = await jetstreamManager(nc)
  })
  afterAll(async () => {
    for (const s of started) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL')
    await nc?.close()
    await server?.stop()
  })

  it('every input message appears once in the output after a SIGKILL and a restart; pending returns to 0', {timeout: 120_000}, async () => {
    await jsm.streams.add({name: 'SINKS_CRASH_IN', subjects: ['crash.in.>']})
    const file = join(dir, 'windows.yaml')
    writeFileSync(
      file,
      `version: 1
name: sinks-nats-crash
sources:
  feed: {type: nats, url: ${server.url}, stream: SINKS_CRASH_IN, consumer: windows, ackWait: 1s, timestamp: ts, key: deviceId}
rules:
  - name: per_second
    sql: SELECT deviceId, count(*) AS n, collect(seq) AS seqs, window_end() AS we FROM feed GROUP BY deviceId, TUMBLINGWINDOW(ss, 1)
    lateTolerance: 5s
    sinks:
      - type: nats
        url: ${server.url}
        subject: crash.out.\${deviceId}
        msgId: \${deviceId}-\${we}
        stream: SINKS_CRASH_OUT
        createStream: {subjects: [crash.out.>], storage: file}
state: {interval: 500ms}
`,
    )
    const stateDir = join(dir, 'state')
    const run = () => {
      const s = startCli(['pipeline', 'run', file, '--state-dir', stateDir, '--quiet', '--json'])
      started.push(s)
      return s
    }

    // 15 s of event time, 1 ms apart, 10 devices, published at about the pace of their event time.
    const N = 15_000
    // Windows are epoch-aligned: a base on a whole second makes 15 windows per device.
    const base = Math.floor((Date.now() - 3_600_000) / 1000) * 1000
    const js = jetstream(nc)
    let published = 0
    const publisher = (async () => {
      const t0 = performance.now()
      while (published < N) {
        const due = t0 + published
        const wait = due - performance.now()
        if (wait > 0) await new Promise((r) => setTimeout(r, wait))
        const batch: Promise<unknown>[] = []
        for (let k = 0; k < 50 && published < N; k++, published++) {
          const seq = published
          batch.push(js.publish(`crash.in.d${seq % 10}`, JSON.stringify({deviceId: `d${seq % 10}`, seq, ts: base + seq})))
        }
        await Promise.all(batch)
      }
      // One event past the last window plus the tolerance: every device's last window fires.
      await js.publish('crash.in.end', JSON.stringify({deviceId: 'end', seq: -1, ts: base + N + 7000}))
    })()

    const first = run()
    const outCount = async () => (await jsm.streams.info('SINKS_CRASH_OUT').catch(() => null))?.state.messages ?? 0
    // Killed once windows have fired and been published, while input keeps coming.
    await expect.poll(outCount, {timeout: 60_000, interval: 100}).toBeGreaterThanOrEqual(20)
    expect(published).toBeLessThan(N)
    first.child.kill('SIGKILL')
    const killed = await first.exited
    expect(killed.signal).toBe('SIGKILL')

    const second = run()
    await publisher
    await expect.poll(outCount, {timeout: 60_000, interval: 200}).toBe(150)
    await expect
      .poll(async () => {
        const c = await jsm.consumers.info('SINKS_CRASH_IN', 'windows')
        return [c.num_pending, c.num_ack_pending]
      }, {timeout: 30_000, interval: 200})
      .toEqual([0, 0])
    second.child.kill('SIGINT')
    const end = await second.exited
    expect(end.code, end.stderr).toBe(130)
    // The restart resumed from the state the killed run left (checkpoint + input log), not from empty windows.
    const summary = JSON.parse(end.stdout) as {state?: {restoredFrom?: string; replayed: number}}
    expect(summary.state?.restoredFrom).toBeDefined()

    const out = await streamMessages(jsm, 'SINKS_CRASH_OUT')
    // Ctrl-C flushes open windows: the sentinel's own window is the one row beyond the 150.
    const rows = out.map((m) => m.data as {deviceId: string; n: number; seqs: number[]; we: number}).filter((r) => r.deviceId !== 'end')
    expect(rows).toHaveLength(150)
    // One row per device and window.
    expect(new Set(rows.map((r) => `${r.deviceId}-${r.we}`)).size).toBe(rows.length)
    // Every input sequence once, in the row of its own device.
    const seen = new Map<number, number>()
    for (const r of rows) {
      expect(r.n).toBe(r.seqs.length)
      for (const s of r.seqs) {
        expect(`d${s % 10}`).toBe(r.deviceId)
        seen.set(s, (seen.get(s) ?? 0) + 1)
      }
    }
    const missing = Array.from({length: N}, (_, i) => i).filter((i) => !seen.has(i))
    const twice = [...seen].filter(([, c]) => c > 1).map(([s]) => s)
    expect({missing: missing.length, twice: twice.length}).toEqual({missing: 0, twice: 0})
  })
})
