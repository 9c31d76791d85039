import {readFileSync, rmSync} from 'node:fs'
import {createServer as createTlsServer} from 'node:tls'
import {join} from 'node:path'
import {Aedes} from 'aedes'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {opensslAvailable, selfSignedCertificate} from '../../helpers/tls-cert.js'
import {buildLoadProfile} from '../../../src/bench/load-profile.js'
import {runBench, type BenchRequest} from '../../../src/bench/run-bench.js'
import {IotdError} from '../../../src/errors.js'

/** iotd bench over TLS (mqtts://): the raw bench connections verify the certificate unless told not to. */

if (!opensslAvailable) process.stderr.write('NOTICE: skipping the bench TLS tests: openssl is not installed\n')

describe.skipIf(!opensslAvailable)('iotd bench over TLS against aedes behind a self-signed certificate', () => {
  let dir: string
  let url: string
  let closeAll: () => Promise<void>

  beforeAll(async () => {
    dir = selfSignedCertificate('iotd-bench-tls-').dir
    const aedes = await Aedes.createBroker()
    const server = createTlsServer({key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem'))}, aedes.handle)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    url = `mqtts://127.0.0.1:${(server.address() as {port: number}).port}`
    closeAll = async () => {
      await new Promise<void>((r) => aedes.close(() => r()))
      await new Promise((r) => server.close(r))
      rmSync(dir, {recursive: true, force: true})
    }
  })
  afterAll(() => closeAll())

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
    const outcome = await runBench(request({ca: join(dir, 'cert.pem')}))
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

  it('--insecure skips verification (testing only)', async () => {
    const outcome = await runBench(request({insecure: true}))
    expect(outcome.result.counts.received).toBe(500)
  }, 30_000)
})
