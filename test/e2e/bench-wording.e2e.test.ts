import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'
import {opensslAvailable, startTlsAedes, type TlsBroker} from '../helpers/tls-cert.js'

/** What iotd bench says before its summary: in the words of the mode it runs, and each warning once. */
describeMosquitto('iotd bench sub: the connect line', () => {
  let broker: Mosquitto
  beforeAll(async () => {
    broker = await startMosquitto()
  })

  it("says what it listens on, with no publishers' closed-loop wording, and counts one client as one", async () => {
    const r = await runCli(['bench', 'sub', '-b', broker.url, '-t', 'listen/#', '-d', '1s', '--no-broker-count'], {timeoutMs: 30_000})
    expect(r.stderr).toMatch(/^1 client connected \(connect p50 [\d.]+ ms, max [\d.]+ ms\); listening on 'listen\/#' to another publisher's load$/m)
    expect(r.stderr + r.stdout).not.toMatch(/closed loop|in flight per client|1 clients/)
  }, 40_000)
})

describe.skipIf(!opensslAvailable)('iotd bench --insecure', () => {
  let broker: TlsBroker
  beforeAll(async () => {
    broker = await startTlsAedes('iotd-bench-insecure-')
  })
  afterAll(() => broker.close())

  it('warns once that the certificate is not verified', async () => {
    const r = await runCli(['bench', '-b', broker.url, '--insecure', '-r', '100/s', '-d', '1s', '--no-broker-count'], {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(0)
    const warnings = r.stderr.split('\n').filter((l) => /insecure|not verified|verification is off/i.test(l))
    expect(warnings).toEqual(['warn: TLS certificate verification is off (insecure): the broker is not authenticated, so anyone on the path can read and change the traffic; for testing only'])
  }, 40_000)
})
