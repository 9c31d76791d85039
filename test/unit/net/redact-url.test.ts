/**
 * The one redaction of URLs for printing: no password survives it in any malformed form a user may type, and every
 * place that quotes a user-given URL (broker URL errors, NATS servers, sink error texts, bench command lines,
 * --out influxdb=) goes through it.
 */
import {describe, expect, it} from 'vitest'
import {redactCommandLine} from '../../../src/bench/bench-result.js'
import {parseInfluxOut} from '../../../src/cli/influx-output.js'
import {parseEndpointUrl, redactUrl} from '../../../src/net/mqtt-endpoint.js'
import {redactServers} from '../../../src/net/nats-connection.js'
import {redactSecrets} from '../../../src/pipeline/runtime/sink-runner.js'

/** [what a user typed, what a message may show]; every password is a variation of Sekr3t. */
const MALFORMED: [string, string][] = [
  ['u:Sekr3t@127.0.0.1:1883', 'u:***@127.0.0.1:1883'],
  ['mqtt:/u:Sekr3t@127.0.0.1:1883', 'mqtt:***@127.0.0.1:1883'],
  ['mqtt:u:Sekr3t@127.0.0.1:1883', 'mqtt:***@127.0.0.1:1883'],
  ['mqtt://u:Sek/r3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://u:Sek#r3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://u:Sek?r3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://u:Sek:r3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://u:Sek@r3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://u:Sek r3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://u:1883/Sekr3t@127.0.0.1:1883', 'mqtt://u:***@127.0.0.1:1883'],
  ['mqtt://:Sekr3t@127.0.0.1', 'mqtt://:***@127.0.0.1'],
  ['mqtt:///u:Sekr3t@127.0.0.1', 'mqtt://***@127.0.0.1'],
  ['http//u:Sekr3t@127.0.0.1:8086', '***@127.0.0.1:8086'],
  ['MQTT://U:Sekr3t@H', 'MQTT://U:***@H'],
  ['ws://u:Sekr3t@h/mqtt@x', 'ws://u:***@x'],
  ['--broker=mqtt:u:Sekr3t@h', '--broker=mqtt:***@h'],
  ['http:/127.0.0.1:1/?u=admin&p=Sekr3t', 'http:/127.0.0.1:1/?u=admin&p=***'],
  ['http://h:8086/db?p=Sek&r3t&u=admin', 'http://h:8086/db?p=***&u=admin'],
  ['http://h:8086?bucket=b&token=Sekr3t#x', 'http://h:8086?bucket=b&token=***'],
  ['http://h/?password=Sekr3t', 'http://h/?password=***'],
]

describe('redactUrl over malformed URLs', () => {
  it.each(MALFORMED)('%s -> %s', (input, shown) => {
    const out = redactUrl(input)
    expect(out).toBe(shown)
    for (const piece of ['Sekr3t', 'Sek', 'r3t']) expect(out).not.toContain(piece)
  })

  it('masks a password-looking first segment too: "Sekr3t:x@host" keeps only what precedes the first colon', () => {
    // Without `scheme://` the text before the first colon is taken for a user name, as in `u:secret@host`.
    expect(redactUrl('Sekr3t:x@127.0.0.1')).toBe('Sekr3t:***@127.0.0.1')
  })

  it('keeps well-formed URLs readable and is idempotent', () => {
    expect(redactUrl('mqtt://user:secret@host:1883')).toBe('mqtt://user:***@host:1883')
    expect(redactUrl('mqtt://alice@host')).toBe('mqtt://alice@host')
    expect(redactUrl('mqtt://host:1883')).toBe('mqtt://host:1883')
    expect(redactUrl('localhost:1883')).toBe('localhost:1883')
    expect(redactUrl('http://h:8086?bucket=b&org=acme')).toBe('http://h:8086?bucket=b&org=acme')
    for (const [input] of MALFORMED) expect(redactUrl(redactUrl(input))).toBe(redactUrl(input))
  })

  it('masks every URL inside a free text (a client library\'s error message)', () => {
    expect(redactSecrets('connect ECONNREFUSED mqtt://u:Sek/r3t@h:1 and "nats://a:Sekr3t@n:4222"')).toBe('connect ECONNREFUSED mqtt://u:***@h:1 and "nats://a:***@n:4222"')
  })
})

describe('every place that quotes a user-given URL masks the password', () => {
  const brokerInputs = MALFORMED.map(([input]) => input).filter((input) => !input.startsWith('http') && !input.startsWith('--'))

  it.each(brokerInputs)('parseEndpointUrl(%s) fails or displays without the password', (input) => {
    let text: string
    try {
      const parsed = parseEndpointUrl(input)
      text = parsed.display
    } catch (error) {
      text = `${(error as Error).message} ${((error as {suggestions?: string[]}).suggestions ?? []).join(' ')}`
    }
    for (const piece of ['Sekr3t', 'Sek/', 'r3t']) expect(text).not.toContain(piece)
  })

  it('a broker URL whose password holds / ? or # is refused (exit 2), not connected to a host read out of it', () => {
    expect(() => parseEndpointUrl('mqtt://u:1883/Sekr3t@127.0.0.1:1883')).toThrow(/an @ follows a \/, \? or #/)
    expect(() => parseEndpointUrl('u:Sekr3t@127.0.0.1:1883')).toThrow(/does not start with mqtt:\/\//)
    expect(parseEndpointUrl('mqtt://u:Sek%2Fr3t@127.0.0.1:1883')).toMatchObject({host: '127.0.0.1', password: 'Sek/r3t', display: 'mqtt://u:***@127.0.0.1:1883'})
  })

  it('NATS servers, sink error texts and bench command lines', () => {
    expect(redactServers('nats://u:Sek/r3t@n1:4222, nats://n2:4222')).toBe('nats://u:***@n1:4222,nats://n2:4222')
    expect(redactSecrets('POST http://u:Sek/r3t@h:1/x: ECONNREFUSED')).toBe('POST http://u:***@h:1/x: ECONNREFUSED')
    expect(redactCommandLine(['bench', '-b', 'u:Sekr3t@127.0.0.1:1883', '--broker=mqtt://u:Sek#r3t@h']).join(' ')).not.toMatch(/Sek|r3t/)
  })

  it.each([
    'influxdb=http:/127.0.0.1:1/?u=admin&p=Sekr3t',
    'influxdb=http://127.0.0.1:8086/db?u=admin&p=Sekr3t',
    'influxdb=http://127.0.0.1:8086?bucket=b&token=Sekr3t',
    'influxdb=http//u:Sekr3t@127.0.0.1:8086/db',
    'influxdb=http://u:Sek/r3t@127.0.0.1:8086/db',
    'influxdb=ftp://u:Sekr3t@127.0.0.1/db',
  ])('--out %s is refused (exit 2) without the password', (value) => {
    let error: (Error & {exitCode?: number}) | undefined
    try {
      parseInfluxOut(value)
    } catch (e) {
      error = e as Error & {exitCode?: number}
    }
    expect(error?.exitCode).toBe(2)
    expect(error?.message).not.toMatch(/Sek|r3t/)
  })
})

describe('the postgres sink names its server through redactUrl', () => {
  it.each(['postgres://u:Sek/r3t@127.0.0.1/db', 'postgres:u:Sekr3t@127.0.0.1/db'])('%s: the error of a connection that fails holds no password', {timeout: 30_000}, async (url) => {
    const {postgresSink} = await import('../../../src/pipeline/sinks/postgres.js')
    // A pipeline file refuses these URLs before anything connects, the password masked …
    const refused = postgresSink.options.safeParse({url, table: 't'})
    expect(refused.success).toBe(false)
    expect(JSON.stringify(refused.error?.issues)).toContain('***@127.0.0.1')
    expect(JSON.stringify(refused.error?.issues)).not.toMatch(/Sek|r3t/)
    // … and the sink, given one anyway (as a library), still never prints the password.
    const sink = postgresSink.create({url, table: 't', createTable: false, time: []}, 'pg', {baseDir: '.', env: {}})
    const ctx = {signal: new AbortController().signal, deadLetter: () => {}, warn: () => {}}
    const error = await (async () => {
      await sink.open?.(ctx)
      await sink.write([{ts: 0, fields: {a: 1}, meta: {source: 's'}}])
    })().catch((e: unknown) => e as Error)
    await sink.close?.().catch(() => {})
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toMatch(/^postgres /)
    expect((error as Error).message).not.toMatch(/Sek|r3t/)
  })
})
