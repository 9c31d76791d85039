/**
 * record --json: the summary (with its error) is the JSON on stdout, and the error also goes to stderr, once, as
 * every run-shaped command's under --json (BaseCommand.finishRun). Before, a full disk under --json left stderr empty: the error
 * was only inside the JSON.
 */
import {expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {startCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

describeMosquitto('record --json on a full disk', () => {
  it('prints the summary as JSON on stdout and the error on stderr, exit 1', async () => {
    const broker = await startMosquitto()
    try {
      const rec = startCli(['record', 'full/#', '--broker', broker.url, '--out', '/dev/full', '--duration', '30s', '--json'])
      // Under --json (stderr not a terminal) nothing says it has subscribed: publish until the write fails.
      const pub = await connectOnce({url: broker.url, clientId: `json-full-pub-${process.pid}`})
      for (let i = 0; i < 200 && rec.child.exitCode === null; i++) {
        await pub.publishAsync('full/x', `m${i}`, {qos: 1})
        await new Promise((r) => setTimeout(r, 100))
      }
      await pub.endAsync()
      const r = await rec.exited
      expect(r.code, r.stderr).toBe(1)
      expect(JSON.parse(r.stdout)).toMatchObject({schemaVersion: 1, error: expect.stringContaining('cannot write /dev/full: the disk is full')})
      // Once: finishRun writes it under --json as without (record no longer notes it itself as well).
      expect(r.stderr.match(/^Error: cannot write \/dev\/full: the disk is full.*\(the file holds the 0 messages recorded before it, each row whole\)$/gm)).toHaveLength(1)
      expect(r.stderr.match(/the disk is full/g)).toHaveLength(1)
    } finally {
      await broker.stop()
    }
  }, 60_000)
})
