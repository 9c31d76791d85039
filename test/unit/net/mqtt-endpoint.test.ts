import {describe, expect, it} from 'vitest'
import {UsageError} from '../../../src/errors.js'
import {describeConnectError, MqttConnectError} from '../../../src/net/connect-errors.js'
import {checkCredentials, parseEndpointUrl, redactUrl} from '../../../src/net/mqtt-endpoint.js'

describe('redactUrl', () => {
  it('hides the password and keeps everything else', () => {
    expect(redactUrl('mqtt://user:secret@host:1883')).toBe('mqtt://user:***@host:1883')
    expect(redactUrl('wss://u:p%40ss@broker.example/mqtt?x=1')).toBe('wss://u:***@broker.example/mqtt?x=1')
    expect(redactUrl('mqtt://user@host')).toBe('mqtt://user@host')
    expect(redactUrl('mqtt://host:1883')).toBe('mqtt://host:1883')
  })
})

describe('parseEndpointUrl', () => {
  it('fills default ports per scheme and decodes credentials', () => {
    expect(parseEndpointUrl('mqtt://h')).toMatchObject({transport: 'mqtt', host: 'h', port: 1883, path: ''})
    expect(parseEndpointUrl('mqtts://h')).toMatchObject({transport: 'mqtts', port: 8883})
    expect(parseEndpointUrl('ws://h/mqtt')).toMatchObject({transport: 'ws', port: 80, path: '/mqtt'})
    expect(parseEndpointUrl('wss://h:8443/mqtt')).toMatchObject({transport: 'wss', port: 8443})
    expect(parseEndpointUrl('tcp://h:1')).toMatchObject({transport: 'mqtt', port: 1})
    const p = parseEndpointUrl('mqtt://al%40ice:s3cr%3At@[::1]:1884')
    expect(p).toMatchObject({host: '::1', port: 1884, username: 'al@ice', password: 's3cr:t'})
    expect(p.display).not.toContain('s3cr')
  })

  it('rejects unsupported schemes and non-URLs without echoing the password', () => {
    expect(() => parseEndpointUrl('http://h')).toThrow(UsageError)
    expect(() => parseEndpointUrl('http://h')).toThrow(/unsupported scheme "http:"/)
    expect(() => parseEndpointUrl('localhost:1883 :pw')).toThrow(UsageError)
    try {
      parseEndpointUrl('kafka://u:hunter2@h')
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2')
    }
  })
})

describe('describeConnectError', () => {
  const broker = 'mqtt://broker.local:1883'
  it('names the broker and the cause for each failure kind', () => {
    const refused = describeConnectError(broker, Object.assign(new Error('connect ECONNREFUSED'), {code: 'ECONNREFUSED'}))
    expect(refused).toBeInstanceOf(MqttConnectError)
    expect(refused).toMatchObject({reason: 'unreachable', exitCode: 1, retryable: true})
    expect(refused.message).toBe('cannot connect to mqtt://broker.local:1883: connection refused (nothing is listening there)')

    const auth = describeConnectError(broker, Object.assign(new Error('Connection refused: Not authorized'), {code: 5}))
    expect(auth).toMatchObject({reason: 'rejected', returnCode: 5, retryable: false})
    expect(auth.message).toBe('mqtt://broker.local:1883 refused the connection: Not authorized (code 5)')

    // The hint names the flag the CLI has (--mqtt-version; -V is bench's alone) and the keys of the files.
    const version = describeConnectError(broker, Object.assign(new Error('Connection refused: Unacceptable protocol version'), {code: 1}))
    expect(version.suggestions).toEqual(['try the other protocol version: --mqtt-version 3.1.1 or 5, or protocol: in a pipeline file (broker.protocol: in a scenario)'])

    const busy = describeConnectError(broker, Object.assign(new Error('Connection refused: Server busy'), {code: 137}))
    expect(busy.retryable).toBe(true)

    const tls = describeConnectError(broker, Object.assign(new Error('self-signed certificate'), {code: 'DEPTH_ZERO_SELF_SIGNED_CERT'}))
    expect(tls).toMatchObject({reason: 'tls', retryable: false})
    expect(tls.suggestions.join()).toContain('--ca')

    // A trusted chain for other names: another CA would not help, so the hint is about the name.
    const altname = describeConnectError(
      broker,
      Object.assign(new Error("Hostname/IP does not match certificate's altnames: Host: broker.local. is not in the cert's altnames: DNS:mqtt.example"), {code: 'ERR_TLS_CERT_ALTNAME_INVALID'}),
    )
    expect(altname).toMatchObject({reason: 'tls', retryable: false})
    expect(altname.message).toContain('DNS:mqtt.example')
    expect(altname.suggestions.join(' ')).toContain('subject alternative names')
    expect(altname.suggestions.join(' ')).not.toContain('--ca')

    const timeout = describeConnectError(broker, new Error('connack timeout'), {connectTimeoutMs: 2000})
    expect(timeout.message).toContain('no CONNACK from mqtt://broker.local:1883 within 2s')

    const closed = describeConnectError(broker, undefined)
    expect(closed.reason).toBe('closed')

    const src = describeConnectError(broker, Object.assign(new Error('bind'), {code: 'EADDRNOTAVAIL'}), {sourceAddress: '10.9.9.9'})
    expect(src).toMatchObject({reason: 'source-address', retryable: false})
    expect(src.message).toContain('10.9.9.9')
  })

  it('tells a missing client certificate from an untrusted broker, and suggests mqtts:// when a plain URL is reset', () => {
    const required = describeConnectError('mqtts://b:8883', Object.assign(new Error('ssl3_read_bytes:tlsv13 alert certificate required'), {code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED'}))
    expect(required).toMatchObject({reason: 'tls', retryable: false})
    expect(required.message).toContain('asks for a client certificate')
    expect(required.suggestions.join(' ')).toContain('--cert and --key')
    const refusedCert = describeConnectError('mqtts://b:8883', Object.assign(new Error('alert unknown ca'), {code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA'}))
    expect(refusedCert.message).toContain('did not accept the client certificate')
    const reset = describeConnectError('mqtt://b:8883', Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'}))
    expect(reset.suggestions.join(' ')).toContain('use mqtts://')
    expect(describeConnectError('mqtts://b:8883', Object.assign(new Error('read ECONNRESET'), {code: 'ECONNRESET'})).suggestions).toEqual([])
  })
})

describe('checkCredentials', () => {
  it('refuses a password without a user name on MQTT 3.1.1 (exit 2), not on MQTT 5', () => {
    expect(() => checkCredentials('3.1.1', undefined, 'pw')).toThrow(/--password needs --username/)
    expect(() => checkCredentials('3.1.1', 'u', 'pw')).not.toThrow()
    expect(() => checkCredentials('5', undefined, 'pw')).not.toThrow()
    expect(() => checkCredentials('3.1.1', undefined, 'pw', 'mqtt://user@h:1883')).not.toThrow()
  })
})

describe('redactUrl with unusual passwords', () => {
  it('hides a password containing @ whole, up to the last @ (one after the host hides the host too)', () => {
    expect(redactUrl('mqtt://user:p@ss@broker:1883')).toBe('mqtt://user:***@broker:1883')
    expect(new URL('mqtt://user:p@ss@broker:1883').password).toBe('p%40ss')
    // A password may hold an unencoded /, so an @ in what a URL parser reads as the path may end the userinfo.
    expect(redactUrl('mqtt://user:p@ss@broker:1883/a@b')).toBe('mqtt://user:***@b')
  })
})
