/**
 * The InfluxDB sink's line protocol (escaping, types, precision, refusals) and the request it makes to a 2.x server
 * (/api/v2/write, org/bucket/precision, Authorization: Token from the environment), against a node:http server that
 * records what it was sent (no InfluxDB 2.x is installable here; the 1.x path runs against influxd in the
 * integration suite).
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {influxdbSink, lineEncoder, timestampWriter} from '../../../src/pipeline/sinks/influxdb.js'
import type {PipelineRecord, StageContext} from '../../../src/pipeline/types.js'

const rec = (fields: unknown, ts = 1_700_000_000_123): PipelineRecord => ({ts, fields, meta: {source: 't'}})
const base = {tags: [] as string[], integers: [] as string[], precision: 'ms' as const}

describe('influxdb line protocol', () => {
  it('writes tags sorted, every other column as a field, numbers as floats, the event time in ms', () => {
    const enc = lineEncoder({...base, measurement: 'env', tags: ['site', 'deviceId']})
    expect(enc.line(rec({site: 'berlin', deviceId: 'd1', temp: 21, ok: true, note: 'a "b" \\c'}))).toBe('env,deviceId=d1,site=berlin temp=21,ok=t,note="a \\"b\\" \\\\c" 1700000000123')
  })

  it('escapes commas, spaces and equals in names and tag values', () => {
    const enc = lineEncoder({...base, measurement: 'my m,1', tags: ['t']})
    expect(enc.line(rec({t: 'a b,c=d', 'f k': 1}))).toBe('my\\ m\\,1,t=a\\ b\\,c\\=d f\\ k=1 1700000000123')
  })

  it('takes the measurement from a template, fields from a list, integers with i, time from a column', () => {
    const enc = lineEncoder({...base, measurement: 'plant_${site}', tags: ['deviceId'], fields: ['count', 'temp'], integers: ['count'], time: 'at', precision: 's'})
    expect(enc.line(rec({site: 'x', deviceId: 'd', count: 3, temp: 1.5, other: 9, at: '2023-11-14T22:13:20.999Z'}))).toBe('plant_x,deviceId=d count=3i,temp=1.5 1700000000')
  })

  it('leaves out null fields and empty tags, writes objects as JSON text', () => {
    const enc = lineEncoder({...base, measurement: 'm', tags: ['t']})
    expect(enc.line(rec({t: '', a: null, b: {x: 1}}))).toBe('m b="{\\"x\\":1}" 1700000000123')
  })

  it('refuses what InfluxDB cannot store instead of changing it', () => {
    const enc = lineEncoder({...base, measurement: 'm_${site}', integers: ['n']})
    expect(() => enc.line(rec({site: 's', a: null}))).toThrow(/no field has a value/)
    expect(() => enc.line(rec({site: 's', n: 1.5}))).toThrow(/listed in integers but is 1.5/)
    expect(() => enc.line(rec({site: 's', v: Number.NaN}))).toThrow(/NaN/)
    expect(() => enc.line(rec({v: 1}))).toThrow(/no measurement/)
    expect(() => enc.line(rec('text'))).toThrow(/no columns/)
  })

  it('cuts timestamps toward the past at each precision, ns as exact text past 2^53', () => {
    expect(timestampWriter('s')(1_700_000_000_999.9)).toBe('1700000000')
    expect(timestampWriter('ms')(1_700_000_000_999.9)).toBe('1700000000999')
    expect(timestampWriter('us')(1_700_000_000_999.25)).toBe('1700000000999250')
    expect(timestampWriter('ns')(1_700_000_000_999.25)).toBe('1700000000999250000')
  })
})

describe('influxdb sink requests', () => {
  let server: Server | undefined
  afterEach(async () => {
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()))
  })

  async function listen(status: number, seen: {url?: string; auth?: string; body?: string}[]): Promise<string> {
    server = createServer((req, res) => {
      let body = ''
      req.on('data', (d: Buffer) => (body += d.toString()))
      req.on('end', () => {
        seen.push({url: req.url, auth: req.headers.authorization, body})
        res.writeHead(status, {'content-type': 'application/json'}).end(status === 204 ? '' : JSON.stringify({code: 'x', message: 'engine: overloaded'}))
      })
    })
    await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok))
    return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`
  }

  const ctx: StageContext = {signal: new AbortController().signal, deadLetter() {}, warn() {}}

  it('writes to /api/v2/write with org, bucket, precision and the token from the environment', async () => {
    const seen: {url?: string; auth?: string; body?: string}[] = []
    const url = await listen(204, seen)
    const opts = influxdbSink.options.parse({url, bucket: 'b1', org: 'acme', measurement: 'm', tokenEnv: 'SINKS_TEST_TOKEN', precision: 'us'})
    const sink = influxdbSink.create(opts, 'out', {baseDir: '.', env: {SINKS_TEST_TOKEN: 'tok-123'}})
    await sink.open(ctx)
    await sink.write([rec({v: 1}), rec({v: 2}, 1_700_000_000_124)])
    const write = seen.find((s) => s.url?.startsWith('/api/v2/write'))!
    expect(new URLSearchParams(write.url!.split('?')[1]).toString()).toBe('bucket=b1&org=acme&precision=us')
    expect(write.auth).toBe('Token tok-123')
    expect(write.body).toBe('m v=1 1700000000123000\nm v=2 1700000000124000\n')
  })

  it('1.x: basic auth from the environment; a 503 is transient and its message carries no secret', async () => {
    const seen: {url?: string; auth?: string; body?: string}[] = []
    const url = await listen(503, seen)
    const opts = influxdbSink.options.parse({url, database: 'db1', measurement: 'm', usernameEnv: 'SINKS_U', passwordEnv: 'SINKS_P'})
    const sink = influxdbSink.create(opts, 'out', {baseDir: '.', env: {SINKS_U: 'alice', SINKS_P: 'pw-secret'}})
    const error = (await sink.write([rec({v: 1})]).catch((e: unknown) => e)) as Error & {transient?: boolean}
    expect(error.transient).toBe(true)
    expect(error.message).toMatch(/HTTP 503 engine: overloaded/)
    expect(error.message).not.toMatch(/pw-secret|alice/)
    expect(seen[0].url).toBe('/write?db=db1&precision=ms')
    expect(seen[0].auth).toBe(`Basic ${Buffer.from('alice:pw-secret').toString('base64')}`)
  })

  it('refuses options that name both a database and a bucket, or neither', () => {
    expect(influxdbSink.options.safeParse({url: 'http://x', measurement: 'm'}).success).toBe(false)
    expect(influxdbSink.options.safeParse({url: 'http://x', measurement: 'm', database: 'a', bucket: 'b'}).success).toBe(false)
    expect(influxdbSink.options.safeParse({url: 'http://x', measurement: 'm', bucket: 'b', createDatabase: true}).success).toBe(false)
  })
})
