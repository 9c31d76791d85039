/**
 * Issue #12, item 6: http sink URL credentials become a Basic Authorization header and never show in messages; an
 * Authorization header as well is refused at load with the key's position.
 */
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {join} from 'node:path'
import {tmpdir} from 'node:os'
import {expect, it} from 'vitest'
import {loadPipeline} from '../../../src/pipeline/index.js'
import {httpSink} from '../../../src/pipeline/sinks/http.js'
import {redactSecrets} from '../../../src/pipeline/runtime/sink-runner.js'

it('URL credentials are sent as Basic authorization, taken out of the URL, and never in an error text', async () => {
  let auth: string | undefined
  let url: string | undefined
  const server = createServer((req, res) => {
    auth = req.headers.authorization
    url = req.url
    req.resume()
    req.on('end', () => res.writeHead(503).end('busy'))
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const port = (server.address() as AddressInfo).port
  const sink = httpSink.create(httpSink.options.parse({url: `http://hu:S3cretPW8@127.0.0.1:${port}/ingest`}), 'h', {baseDir: tmpdir(), env: {}})
  const error = await sink.write([{ts: 0, fields: {a: 1}, meta: {source: 's'}}]).catch((e: Error) => e)
  server.close()
  expect(auth).toBe(`Basic ${Buffer.from('hu:S3cretPW8').toString('base64')}`)
  expect(url).toBe('/ingest')
  expect(String((error as Error).message)).toMatch(/HTTP 503/)
  expect(String((error as Error).message)).not.toMatch(/S3cretPW8/)
  expect(redactSecrets('connect ECONNREFUSED http://hu:S3cretPW8@host:1/x')).toBe('connect ECONNREFUSED http://hu:***@host:1/x')
})

it('credentials in the URL and an Authorization header: refused at load, the secret not repeated', () => {
  const text = 'version: 1\nsources: {s: {type: stdin}}\nrules:\n  - sql: SELECT * FROM s\n    sinks: [{type: http, url: "http://hu:S3cretPW8@127.0.0.1:9/x", headers: {Authorization: "Bearer t0ken"}}]\n'
  let message = ''
  try {
    loadPipeline(join(tmpdir(), 'secrets.yaml'), {text})
  } catch (e) {
    message = (e as Error).message
  }
  expect(message).toMatch(/secrets\.yaml:5:\d+: .*credentials in the URL and an Authorization header/)
  expect(message).not.toMatch(/S3cretPW8|t0ken/)
})
