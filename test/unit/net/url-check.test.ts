/**
 * The one check of an endpoint URL's shape (net/url-check.ts) that the connection code and the pipeline file's
 * validation share: what it refuses, what it says (the password masked, a did-you-mean for plain slips), and that
 * loadPipeline, which `pipeline lint` and `pipeline run` both call, refuses each connector's malformed URL with it.
 */
import {describe, expect, it} from 'vitest'
import {ConfigError, UsageError} from '../../../src/errors.js'
import {parseEndpointUrl} from '../../../src/net/mqtt-endpoint.js'
import {parseNatsServers} from '../../../src/net/nats-connection.js'
import {checkUrl, httpUrlRules} from '../../../src/net/url-check.js'
import {loadPipeline} from '../../../src/pipeline/index.js'

function refusal(fn: () => unknown): string {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).exitCode).toBe(2)
    return (error as Error).message
  }
  throw new Error('not refused')
}

describe('checkUrl', () => {
  const http = httpUrlRules('an HTTP endpoint', 'http://127.0.0.1:8080/ingest')

  it('accepts what the clients connect to', () => {
    expect(checkUrl('http://u:p@[::1]:8080/x?mail=a@b', http)).toEqual({scheme: 'http', host: '::1', port: 8080})
    expect(checkUrl('HTTPS://host', http)).toEqual({scheme: 'https', host: 'host', port: undefined})
  })

  it('names the slip and the URL probably meant, never the password', () => {
    expect(refusal(() => checkUrl('http//u:Sekr3t@h:80', http))).toBe('"***@h:80" is not an HTTP endpoint: it does not start with http:// or https://; did you mean "http://u:***@h:80"?')
    expect(refusal(() => checkUrl('htps://h', http))).toBe('"htps://h" has an unsupported scheme "htps:"; did you mean "https://h"?')
    expect(refusal(() => checkUrl('http:/h', http))).toContain('did you mean "http://h"?')
    expect(refusal(() => checkUrl('http:///h', http))).toContain('a third / follows http://; did you mean "http://h"?')
    expect(refusal(() => checkUrl('http://u:Sekr3t@', http))).toBe('"http://u:***@" is not an HTTP endpoint: it names no host')
    expect(refusal(() => checkUrl('http://h:99999', http))).toBe('"http://h:99999" is not an HTTP endpoint: port 99999 is out of range (1-65535)')
    expect(refusal(() => checkUrl('http://h:0', http))).toContain('port 0 is out of range')
    expect(refusal(() => checkUrl('http://h:8o', http))).toContain('port "8o" is not a number')
  })

  it('reads an empty port as none (the default), as WHATWG URL does', () => {
    expect(checkUrl('http://h:/x', http)).toEqual({scheme: 'http', host: 'h', port: undefined})
    expect(checkUrl('http://[::1]:', http)).toEqual({scheme: 'http', host: '::1', port: undefined})
    expect(parseEndpointUrl('mqtt://host:/')).toMatchObject({transport: 'mqtt', host: 'host', port: 1883})
    expect(parseEndpointUrl('wss://u:Sekr3t@host:/mqtt')).toMatchObject({transport: 'wss', host: 'host', port: 443, path: '/mqtt'})
    expect(parseNatsServers('nats://a:')).toEqual(['nats://a:'])
  })

  it('guesses no scheme where the text before a colon may be a user name', () => {
    const message = refusal(() => checkUrl('htp:Sekr3t@h', http))
    expect(message).not.toContain('did you mean')
    expect(message).not.toContain('Sekr3t')
  })

  it('quotes no port that may be part of a password', () => {
    const message = refusal(() => checkUrl('http://u:Sek/r3t@h', http))
    expect(message).toBe('"http://u:***@h" is not an HTTP endpoint: the port is not a number')
  })
})

describe('the broker and NATS parsers check through it', () => {
  it('parseEndpointUrl: mqtt//, mqqt://, a port out of range, no host', () => {
    expect(refusal(() => parseEndpointUrl('mqtt//localhost:1883'))).toContain('did you mean "mqtt://localhost:1883"?')
    expect(refusal(() => parseEndpointUrl('mqqt://localhost:1883'))).toContain('unsupported scheme "mqqt:"; did you mean "mqtt://localhost:1883"?')
    expect(refusal(() => parseEndpointUrl('mqtt://host:99999'))).toContain('port 99999 is out of range')
    expect(refusal(() => parseEndpointUrl('mqtt://u:Sekr3t@'))).toBe('"mqtt://u:***@" is not a broker URL: it names no host')
    expect(parseEndpointUrl('ssl://h')).toMatchObject({transport: 'mqtts', port: 8883})
  })

  it('parseEndpointUrl: an @ in a ws:// or wss:// query is sent to the server, not refused; before the ? it still is', () => {
    expect(parseEndpointUrl('ws://host/mqtt?token=a@b')).toMatchObject({transport: 'ws', host: 'host', port: 80, path: '/mqtt?token=a@b', username: undefined})
    expect(parseEndpointUrl('wss://u:Sekr3t@host:8443/mqtt?mail=a@b')).toMatchObject({transport: 'wss', host: 'host', port: 8443, path: '/mqtt?mail=a@b', username: 'u', password: 'Sekr3t'})
    expect(parseEndpointUrl('wss://u:Sekr3t@host/mqtt?token=a@b').display).not.toContain('Sekr3t')
    expect(refusal(() => parseEndpointUrl('ws://u:Sek/r3t@host/mqtt'))).toContain('an @ follows a /, ? or #')
    expect(refusal(() => parseEndpointUrl('ws://u:Sek#r3t@host/mqtt'))).toContain('a # comes before the @')
    expect(refusal(() => parseEndpointUrl('ws://u:Sek/r3t@host/mqtt?token=a@b'))).not.toContain('Sek/r3t')
    expect(refusal(() => parseEndpointUrl('mqtt://host/x?token=a@b'))).toContain('an @ follows a /, ? or #')
  })

  it('a ? or # before the @ of what reads as the authority is a password to percent-encode, for every scheme; the password is not printed', () => {
    const http = httpUrlRules('an HTTP endpoint', 'http://127.0.0.1:8080/ingest')
    const encode = 'in a user name or password write ? as %3F and # as %23 (a query after the host needs a / first: host/?a=b)'
    // WHATWG URL reads each as host "u" (or "user") with the password in the query or fragment.
    expect(new URL('ws://u:1883?pw@host').hostname).toBe('u')
    expect(refusal(() => parseEndpointUrl('ws://u:1883?Sekr3t@host'))).toBe(`"ws://u:***@host" is not a broker URL: a ? comes before the @, where a URL parser ends the host; ${encode}`)
    expect(refusal(() => parseEndpointUrl('mqtt://user:pa?Sekr3t@host'))).toBe(`"mqtt://user:***@host" is not a broker URL: a ? comes before the @, where a URL parser ends the host; ${encode}`)
    expect(refusal(() => parseEndpointUrl('mqtt://user:pa#Sekr3t@host:1883'))).toBe(`"mqtt://user:***@host:1883" is not a broker URL: a # comes before the @, where a URL parser ends the host; ${encode}`)
    for (const url of ['wss://user:pa?Sekr3t@host/mqtt', 'ws://user:pa?Sekr3t@host:8083/mqtt', 'ws://u:1883#Sekr3t@host', 'ws://host?token=Sekr3t@b']) {
      const message = refusal(() => parseEndpointUrl(url))
      expect(message).toContain(encode)
      expect(message).not.toContain('Sekr3t')
    }
    expect(refusal(() => checkUrl('http://u:8086?Sekr3t@host', http))).toContain(`a ? comes before the @, where a URL parser ends the host; ${encode}`)
    expect(refusal(() => parseNatsServers('nats://u:4222?Sekr3t@host'))).toContain(encode)
    // Percent-encoded, or an @ in a query after a path, is what it says.
    expect(parseEndpointUrl('ws://u:1883%3Fpw@host')).toMatchObject({transport: 'ws', host: 'host', port: 80, username: 'u', password: '1883?pw'})
    expect(parseEndpointUrl('mqtt://user:pa%23ss@host')).toMatchObject({host: 'host', username: 'user', password: 'pa#ss'})
    expect(parseEndpointUrl('ws://host/?token=a@b')).toMatchObject({host: 'host', path: '/?token=a@b'})
    expect(checkUrl('https://host/ingest?mail=a@b', http)).toEqual({scheme: 'https', host: 'host', port: undefined})
  })

  it('parseNatsServers: host:port alone, nats:// and tls://; not ws://, nats//, an empty server', () => {
    expect(parseNatsServers('nats://a:4222, tls://b ,c:4223,d')).toEqual(['nats://a:4222', 'tls://b', 'c:4223', 'd'])
    expect(refusal(() => parseNatsServers('nats//a:4222'))).toContain('did you mean "nats://a:4222"?')
    expect(refusal(() => parseNatsServers('ws://a'))).toContain('does not speak WebSocket')
    expect(refusal(() => parseNatsServers('a,,b'))).toContain('names an empty NATS server')
    expect(refusal(() => parseNatsServers('a:99999'))).toContain('port 99999 is out of range')
  })
})

describe('loadPipeline (pipeline lint and pipeline run) refuses a malformed URL at its value', () => {
  const kinds: Array<[string, string]> = [
    ['mqtt', 'sources:\n  s: {type: mqtt, url: "mqtt//u:Sekr3t@h:1883"}\nrules:\n  - sql: SELECT a FROM s\n'],
    ['nats', 'sources:\n  s: {type: nats, url: "nats://h:99999", stream: S, consumer: c}\nrules:\n  - sql: SELECT a FROM s\n'],
    ['influxdb', 'sources:\n  s: {type: stdin}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: influxdb, url: "http//h:8086", database: d, measurement: m}]\n'],
    ['http', 'sources:\n  s: {type: stdin}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: http, url: "ftp://h/x"}]\n'],
    ['postgres', 'sources:\n  s: {type: stdin}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: postgres, url: "postgres://u:Sekr3t@h:0/db", table: t}]\n'],
  ]
  it.each(kinds)('%s', (_, body) => {
    const text = `version: 1\n${body}`
    let problems: ConfigError['problems'] = []
    try {
      loadPipeline('flow.yaml', {text})
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      problems = error.problems
    }
    expect(problems).toHaveLength(1)
    const line = text.split('\n')[problems[0].line! - 1]
    expect(line.slice(problems[0].col! - 1)).toMatch(/^"[a-z]/)
    expect(problems[0].message).toMatch(/url: ".*" (is not|has an unsupported scheme)/)
    expect(problems[0].message).not.toContain('Sekr3t')
  })
})

describe('loadPipeline runs a spec\'s check(): what the schema cannot see', () => {
  it('a sim source: its scenario file, its fleets, its from:', () => {
    const text = 'version: 1\nsources:\n  a: {type: sim, scenario: no-such-scenario.yaml}\n  b: {type: sim, scenario: scenarios/smart-factory.yaml, fleets: [pumpz], from: yesterday}\nrules:\n  - sql: SELECT x FROM a\n  - sql: SELECT x FROM b\n'
    let lines: string[] = []
    try {
      loadPipeline('flow.yaml', {text})
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      lines = error.problems.map((p) => `${p.line}:${p.col}: ${p.message}`)
    }
    expect(lines).toEqual([
      expect.stringMatching(/^3:28: sources\.a\.scenario: .*no-such-scenario\.yaml: file not found/),
      expect.stringMatching(/^4:58: sources\.b\.fleets: unknown fleet "pumpz"/),
      '4:81: sources.b.from: "yesterday" is not a date/time',
    ])
  })
})
