/**
 * record and tail that listen their whole --duration and receive nothing did nothing they were asked: exit 1 with
 * one line saying so, as a pipeline run, a bench subscription and a sim do. One message is enough for exit 0.
 */
import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-listen-nothing-'))

describeMosquitto('record and tail that receive nothing', () => {
  it('exit 1 with "nothing received in 1s" naming the filter; the capture holds its header only', async () => {
    const broker = await startMosquitto()
    try {
      const out = join(dir, 'none.csv')
      const rec = await runCli(['record', 'nobody/#', '--broker', broker.url, '--out', out, '--duration', '1s'])
      expect(rec.code, rec.stderr).toBe(1)
      expect(rec.stderr).toMatch(/nothing received in 1(\.\d+)?s: no message arrived on nobody\/# while the run listened/)
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1)
      const tail = await runCli(['tail', 'nobody/#', '--broker', broker.url, '--duration', '1s'])
      expect(tail.code, tail.stderr).toBe(1)
      expect(tail.stderr).toMatch(/nothing received in 1(\.\d+)?s: no message arrived on nobody\/#/)
    } finally {
      await broker.stop()
    }
  }, 60_000)

  it('exit 0 when one message arrived (a retained one, here)', async () => {
    const broker = await startMosquitto()
    try {
      const pub = await connectOnce({url: broker.url, clientId: `listen-nothing-${process.pid}`})
      await pub.publishAsync('one/x', 'hello', {qos: 1, retain: true})
      await pub.endAsync()
      const rec = await runCli(['record', 'one/#', '--broker', broker.url, '--out', join(dir, 'one.csv'), '--duration', '1s'])
      expect(rec.code, rec.stderr).toBe(0)
      const tail = await runCli(['tail', 'one/#', '--broker', broker.url, '--duration', '1s'])
      expect(tail.code, tail.stderr).toBe(0)
      expect(tail.stdout).toContain('hello')
    } finally {
      await broker.stop()
    }
  }, 60_000)
})
