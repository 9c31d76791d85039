import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, startCli} from '../helpers/cli.js'
import {mosquittoAvailable, startMosquitto, stopAllMosquittos} from '../helpers/mosquitto.js'
import {freePort} from '../helpers/ports.js'
import {certificateAuthority, opensslAvailable, type CertificateAuthority} from '../helpers/tls-cert.js'

/**
 * One set of MQTT connection flags on every command that connects (issue #13 item 5), against a mosquitto whose
 * TLS listener has a certificate from a private CA and requires client certificates: sim, tail, record and replay
 * take --ca/--cert/--key, verify the broker unless --insecure (which warns), and the pipeline's mqtt source and sink
 * take the same files in the pipeline file.
 */

const ready = mosquittoAvailable() && opensslAvailable
if (!ready && process.env.CI === 'true') throw new Error('the TLS e2e tests need mosquitto and openssl in CI')
if (!ready) process.stderr.write('NOTICE: skipping the MQTT TLS e2e tests: mosquitto or openssl is not installed\n')

describe.skipIf(!ready)('MQTT over TLS with a private CA and client certificates', () => {
  let ca: CertificateAuthority
  let url: string
  let tlsFlags: string[]

  beforeAll(async () => {
    ca = certificateAuthority()
    const port = await freePort()
    await startMosquitto({
      extraConfig: [`listener ${port} 127.0.0.1`, `cafile ${ca.ca}`, `certfile ${ca.serverCert}`, `keyfile ${ca.serverKey}`, 'require_certificate true'],
    })
    url = `mqtts://127.0.0.1:${port}`
    tlsFlags = ['--broker', url, '--ca', ca.ca, '--cert', ca.clientCert, '--key', ca.clientKey]
  }, 60_000)
  afterAll(stopAllMosquittos)

  const capture = (rows: number, topic: string) => {
    const file = join(ca.dir, `${topic.replace(/\W/g, '-')}.csv`)
    const lines = Array.from({length: rows}, (_, i) => `${1767225600000 + i},${topic}/${i},1,0,utf8,"{""n"":${i}}"`)
    writeFileSync(file, `ts,topic,qos,retain,encoding,payload\n${lines.join('\n')}\n`)
    return file
  }

  it('tail and record receive what replay publishes, all three with --ca/--cert/--key', async () => {
    const out = join(ca.dir, 'recorded.csv')
    const tail = startCli(['tail', 'a/#', ...tlsFlags, '--count', '3', '--format', 'ndjson'])
    const record = startCli(['record', 'a/#', ...tlsFlags, '--count', '3', '--qos', '1', '--out', out])
    await expect.poll(() => /subscribed/.test(tail.stderr()) && /recording/.test(record.stderr()), {timeout: 20_000}).toBe(true)
    const replay = await runCli(['replay', capture(3, 'a'), ...tlsFlags, '--max-speed'])
    expect(replay.code, replay.stderr).toBe(0)
    const [t, r] = await Promise.all([tail.exited, record.exited])
    expect(t.code, t.stderr).toBe(0)
    expect(t.stdout.trim().split('\n').map((l) => (JSON.parse(l) as {topic: string}).topic)).toEqual(['a/0', 'a/1', 'a/2'])
    expect(r.code, r.stderr).toBe(0)
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(4)
  }, 60_000)

  it('without --ca the broker is not trusted: exit 1 naming the certificate; --insecure connects and warns', async () => {
    const file = capture(1, 'b')
    const refused = await runCli(['replay', file, '--broker', url, '--cert', ca.clientCert, '--key', ca.clientKey, '--max-speed'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/certificate/i)
    expect(refused.stderr).toMatch(/--ca/)

    const insecure = await runCli(['replay', file, '--broker', url, '--cert', ca.clientCert, '--key', ca.clientKey, '--insecure', '--max-speed'])
    expect(insecure.code, insecure.stderr).toBe(0)
    expect(insecure.stderr).toMatch(/TLS certificate verification is off/)

    // The broker requires a client certificate: without one the handshake fails even with the CA.
    const noClientCert = await runCli(['replay', file, '--broker', url, '--ca', ca.ca, '--max-speed'])
    expect(noClientCert.code).toBe(1)
  }, 60_000)

  it('hints that say what is missing: a client certificate, mqtts:// for a TLS port, a user name for a password (#13 item 14)', async () => {
    const noCert = await runCli(['tail', 'hint/#', '--broker', url, '--ca', ca.ca, '--count', '1'], {timeoutMs: 30_000})
    expect(noCert.code).toBe(1)
    expect(noCert.stderr).toMatch(/the broker asks for a client certificate and none was given/)
    expect(noCert.stderr).toMatch(/--cert and --key/)
    expect(noCert.stderr).not.toMatch(/CA certificate with --ca/)
    const plain = await runCli(['tail', 'hint/#', '--broker', url.replace('mqtts://', 'mqtt://'), '--count', '1'], {timeoutMs: 30_000})
    expect(plain.code).toBe(1)
    expect(plain.stderr).toMatch(/use mqtts:\/\//)
    const noUser = await runCli(['tail', 'hint/#', '--broker', url, ...tlsFlags.slice(2), '--password', 'pw', '--count', '1'], {timeoutMs: 30_000})
    expect(noUser.code).toBe(2)
    expect(noUser.stderr).toMatch(/--password needs --username/)
    expect(noUser.stderr).not.toMatch(/pw/)
  })

  it('sim connects its fleet through TLS with the same flags', async () => {
    const scenario = join(ca.dir, 'tls-fleet.yaml')
    writeFileSync(scenario, 'version: 1\nfleets:\n  - name: s\n    count: 2\n    topic: "tls/{deviceId}"\n    every: 200ms\n    fields:\n      v: {kind: counter}\n')
    const seen: string[] = []
    const sub = await mqtt.connectAsync(url, {ca: readFileSync(ca.ca), cert: readFileSync(ca.clientCert), key: readFileSync(ca.clientKey), reconnectPeriod: 0})
    try {
      sub.on('message', (topic) => seen.push(topic))
      await sub.subscribeAsync('tls/#')
      const r = await runCli(['sim', scenario, ...tlsFlags, '--duration', '5s', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const summary = JSON.parse(r.stdout) as {totals: {published: number; connected: number}}
      expect(summary.totals.published, r.stdout + r.stderr).toBeGreaterThan(0)
      await expect.poll(() => new Set(seen).size, {timeout: 5000}).toBe(2)
      const untrusted = await runCli(['sim', scenario, '--broker', url, '--cert', ca.clientCert, '--key', ca.clientKey, '--duration', '2s'], {timeoutMs: 60_000})
      expect(untrusted.code).toBe(1)
      expect(untrusted.stderr).toMatch(/certificate/i)
    } finally {
      await sub.endAsync()
    }
  }, 90_000)

  it("the pipeline's mqtt source and sink take tls: {ca, cert, key} (relative to the pipeline file)", async () => {
    const file = join(ca.dir, 'tls-pipeline.yaml')
    const tls = `tls: {ca: ca.pem, cert: client.pem, key: client.key}`
    writeFileSync(
      file,
      `version: 1\nname: tls-relay\nsources:\n  plant: {type: mqtt, url: "${url}", topics: ["in/#"], ${tls}}\nrules:\n  - sql: SELECT n FROM plant\n    sinks:\n      - {type: mqtt, url: "${url}", topic: "out/\${n}", ${tls}}\n`,
    )
    const lint = await runCli(['pipeline', 'lint', file])
    expect(lint.code, lint.stderr + lint.stdout).toBe(0)
    const pipeline = startCli(['pipeline', 'run', file, '--no-state'])
    const client = await mqtt.connectAsync(url, {ca: readFileSync(ca.ca), cert: readFileSync(ca.clientCert), key: readFileSync(ca.clientKey), reconnectPeriod: 0})
    const out: string[] = []
    try {
      client.on('message', (topic) => out.push(topic))
      await client.subscribeAsync('out/#')
      // Published until the pipeline (which subscribes when it has started) relays one.
      let n = 0
      await expect
        .poll(
          async () => {
            await client.publishAsync('in/x', JSON.stringify({n: n++}))
            return out.length
          },
          {timeout: 30_000, interval: 300},
        )
        .toBeGreaterThan(0)
        .catch((error: unknown) => {
          throw new Error(`nothing relayed: ${pipeline.stderr()} ${pipeline.stdout()} (${String(error)})`)
        })
      expect(out[0]).toMatch(/^out\/\d+$/)
    } finally {
      await client.endAsync()
      pipeline.child.kill('SIGINT')
      await pipeline.exited
    }
  }, 60_000)
})
