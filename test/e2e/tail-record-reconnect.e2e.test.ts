/**
 * record (no --duration) and tail keep running when their broker restarts: a private mosquitto with persistence is
 * stopped and started again on the same port; both reconnect with backoff, said on stderr, and go on. record with
 * --qos 1 and a persistent session gets what the broker kept for it. Ctrl-C then gives the summary and exit 130.
 * Before, the reconnect timer was unref'd: nothing held the event loop and both exited with Node's code 13.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {afterAll, expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {startCli, type StartedCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-e2e-reconnect-'))
const started: StartedCli[] = []

async function until(what: string, cond: () => boolean, cli: StartedCli, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstdout: ${cli.stdout()}\nstderr: ${cli.stderr()}`)
    if (cli.child.exitCode !== null) throw new Error(`exited (${cli.child.exitCode}) waiting for ${what}\nstdout: ${cli.stdout()}\nstderr: ${cli.stderr()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describeMosquitto('record and tail across a broker restart', () => {
  afterAll(() => {
    for (const c of started) if (c.child.exitCode === null) process.kill(c.pid, 'SIGKILL')
  })

  it('keep running, reconnect, record and show what is published after the restart; Ctrl-C gives the summary and 130', async () => {
    const broker = await startMosquitto({persistence: true})
    try {
      const file = join(dir, 'r.csv')
      const record = startCli(['record', 'r/#', '--broker', broker.url, '--qos', '1', '--out', file, '--client-id', 'reconnect-recorder', '--no-clean'])
      const tail = startCli(['tail', 't/#', '--broker', broker.url, '--format', 'ndjson'])
      started.push(record, tail)
      await until('record to subscribe', () => /^recording /m.test(record.stderr()), record)
      await until('tail to subscribe', () => /^subscribed to /m.test(tail.stderr()), tail)

      const publish = async (topic: string, payload: string) => {
        const pub = await connectOnce({url: broker.url, clientId: `reconnect-pub-${Math.random().toString(36).slice(2, 8)}`})
        await pub.publishAsync(topic, payload, {qos: 1})
        await pub.endAsync()
      }
      await publish('r/x', 'before')
      await publish('t/x', 'before')
      await until('tail to show the first message', () => tail.stdout().includes('before'), tail)

      await broker.restart()
      // Published while the recorder may still be away: the broker keeps it in the recorder's persistent session.
      await publish('r/x', 'kept')
      await until('record to reconnect', () => /reconnected to /.test(record.stderr()), record)
      await until('tail to reconnect', () => /reconnected to /.test(tail.stderr()), tail)
      await publish('r/x', 'after')
      await publish('t/x', 'after')
      await until('tail to show the message after the restart', () => tail.stdout().includes('after'), tail)
      // The recorder syncs once a second; give it the time to write the rows before stopping it.
      await until('the recording to hold 3 rows', () => {
        try {
          return parse(readFileSync(file, 'utf8'), {columns: true}).length >= 3
        } catch {
          return false
        }
      }, record)

      process.kill(record.pid, 'SIGINT')
      process.kill(tail.pid, 'SIGINT')
      const r = await record.exited
      const t = await tail.exited
      expect(r.code, r.stderr).toBe(130)
      expect(r.stderr).toMatch(/lost the connection to .*; reconnecting in \d+ ms/)
      expect(r.stdout).toMatch(/^recording stopped: recorded 3 messages/)
      const rows = parse(readFileSync(file, 'utf8'), {columns: true}) as Array<{payload: string}>
      expect(rows.map((row) => row.payload)).toEqual(['before', 'kept', 'after'])

      expect(t.code, t.stderr).toBe(130)
      expect(t.stderr).toMatch(/lost the connection to .*; reconnecting in \d+ ms/)
      expect(t.stderr).toMatch(/^2 messages in /m)
      expect(t.stdout.trim().split('\n').map((l) => JSON.parse(l).payload)).toEqual(['before', 'after'])
    } finally {
      await broker.stop()
    }
  }, 90_000)
})
