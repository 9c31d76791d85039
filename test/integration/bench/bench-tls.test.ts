import {INSECURE_TLS_WARNING} from '../../../src/net/tls-files.js'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {opensslAvailable, startTlsAedes, type TlsBroker} from '../../helpers/tls-cert.js'
import {buildLoadProfile} from '../../../src/pacing/load-profile.js'
import {runBench, type BenchRequest} from '../../../src/bench/run-bench.js'
import {IotdError} from '../../../src/errors.js'

/** iotd bench over TLS (mqtts://): the raw bench connections verify the certificate unless told not to. */

if (!opensslAvailable) process.stderr.write('NOTICE: skipping the bench TLS tests: openssl is not installed\n')

describe.skipIf(!opensslAvailable)('iotd bench over TLS against aedes behind a self-signed certificate', () => {
  let broker: TlsBroker
  let url: string
  beforeAll(async () => {
    broker = await startTlsAedes('iotd-bench-tls-')
    url = broker.url
  })
  afterAll(() => broker.close())

  const request = (tls: BenchRequest['tls']): BenchRequest => ({
    mode: 'e2e',
    brokerUrl: url,
    tls,
    protocolVersion: 4,
    qos: 1,
    retain: false,
    payloadBytes: 64,
    publishers: 2,
    subscribers: 1,
    topic: 'tls/%i',
    profile: buildLoadProfile({rate: '500/s', durationMs: 1000}),
    durationMs: 1000,
    warmupMs: 0,
    inflight: 1024,
    batch: 64,
    maxLagMs: 1000,
    keepaliveSec: 0,
    connectTimeoutMs: 5000,
    connectConcurrency: 10,
    clientIdPrefix: `it-tls-${Math.random().toString(36).slice(2, 7)}`,
    thresholds: [],
    commandLine: [],
    toolVersion: 'test',
    drainMs: 2000,
    brokerCount: false,
  })

  it('with the CA, every message goes through the TLS connections', async () => {
    const outcome = await runBench(request({ca: broker.cert}))
    expect(outcome.result.counts.sent).toBe(500)
    expect(outcome.result.counts.acked).toBe(500)
    expect(outcome.result.counts.received).toBe(500)
  }, 30_000)

  it('without it, the certificate is refused: a TLS error, exit 1', async () => {
    const err = await runBench(request({})).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IotdError)
    expect((err as IotdError).exitCode).toBe(1)
    expect((err as Error).message).toMatch(/certificate|TLS/i)
  }, 30_000)

  it('--insecure skips verification (testing only), and says so', async () => {
    const outcome = await runBench(request({insecure: true}))
    expect(outcome.result.counts.received).toBe(500)
    expect(outcome.warnings).toContain(INSECURE_TLS_WARNING)
    // Verified connections say nothing of the kind.
    expect((await runBench(request({ca: broker.cert}))).warnings).not.toContain(INSECURE_TLS_WARNING)
  }, 30_000)
})
