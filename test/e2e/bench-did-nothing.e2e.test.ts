import {beforeAll, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/** A bench run that did nothing it was asked (nothing received, nothing arrived) exits 1 with one line saying so. */
describeMosquitto('iotd bench: a run that did nothing', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })

  it('bench sub on a filter nobody publishes to: exit 1, nothing received on it', async () => {
    const r = await runCli(['bench', 'sub', '-b', broker.url, '-t', 'nothing/#', '-d', '2s', '--no-broker-count'], {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toContain('0 received')
    expect(r.stderr).toMatch(/nothing received on 'nothing\/#' in 2(\.\d+)?s: no iotd bench message was published to it/)
  }, 40_000)

  it('end to end whose --sub-topic misses the published topics (100 % lost): exit 1, nothing arrived on the filter, also with --json', async () => {
    const r = await runCli(['bench', '-b', broker.url, '-r', '1000/s', '-d', '2s', '--sub-topic', 'other/#', '--no-broker-count'], {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/nothing arrived on the subscription's filter 'other\/#': the subscribers received none of the 2,000 messages sent/)
    const json = await runCli(['bench', '-b', broker.url, '-r', '1000/s', '-d', '1s', '--sub-topic', 'other/#', '--no-broker-count', '--json'], {timeoutMs: 30_000})
    expect(json.code).toBe(1)
    expect((JSON.parse(json.stdout) as {counts: {received: number}}).counts.received).toBe(0)
  }, 60_000)

  it('a run that received what it sent still exits 0', async () => {
    const r = await runCli(['bench', '-b', broker.url, '-r', '500/s', '-d', '1s', '--no-broker-count'], {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(0)
  }, 40_000)
})
