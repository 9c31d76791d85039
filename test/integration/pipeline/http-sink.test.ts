/**
 * The HTTP sink against a real node:http server on an OS-assigned port: JSON batches with the configured headers,
 * transient statuses (503) retried with backoff until accepted, permanent ones (400) dead-lettered.
 */
import {createServer, type IncomingMessage, type Server} from 'node:http'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {loadPipeline, runPipeline} from '../../../src/pipeline/index.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-http-'))
let server: Server | undefined

afterEach(async () => {
  await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()))
  server = undefined
})

async function listen(handler: (req: IncomingMessage, body: string) => number): Promise<string> {
  server = createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      res.statusCode = handler(req, body)
      res.end(res.statusCode >= 400 ? 'nope' : 'ok')
    })
  })
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok))
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}/ingest`
}

function writePipeline(url: string): string {
  const lines = Array.from({length: 25}, (_, i) => JSON.stringify({id: i, v: i * 2}))
  writeFileSync(join(dir, 'in.jsonl'), `${lines.join('\n')}\n`)
  const file = join(dir, 'http.yaml')
  writeFileSync(
    file,
    `version: 1
sources: {feed: {type: file, path: in.jsonl}}
rules:
  - sql: SELECT id, v FROM feed WHERE v >= 0
    sinks:
      - type: http
        url: ${url}
        headers: {Authorization: "Bearer \${env:IOTD_TEST_TOKEN}"}
        batch: {count: 10, interval: 50ms}
        retry: {attempts: 20, initial: 10ms, max: 50ms}
`,
  )
  return file
}

describe('http sink', () => {
  it('POSTs JSON batches with headers and retries 503 until the server accepts', async () => {
    const received: unknown[][] = []
    let calls = 0
    let auth: string | undefined
    const url = await listen((req, body) => {
      calls++
      auth = req.headers.authorization
      if (calls <= 3) return 503
      received.push(JSON.parse(body) as unknown[])
      return 200
    })
    const file = writePipeline(url)
    const summary = await runPipeline({pipeline: loadPipeline(file, {env: {IOTD_TEST_TOKEN: 's3cret'}}), warn: () => {}})
    expect(auth).toBe('Bearer s3cret')
    expect(received.map((b) => b.length)).toEqual([10, 10, 5])
    expect(received.flat()).toContainEqual({id: 24, v: 48})
    expect(summary.sinks[0].retries).toBe(3)
    expect(summary.sinks[0].written).toBe(25)
  })

  it('dead-letters rows the server refuses for good (4xx), keeping the accepted ones', async () => {
    const url = await listen((_req, body) => ((JSON.parse(body) as {id: number}[]).some((r) => r.id === 7) ? 400 : 200))
    const file = writePipeline(url)
    const deadLetter = join(dir, 'dead.jsonl')
    const summary = await runPipeline({pipeline: loadPipeline(file, {env: {IOTD_TEST_TOKEN: 'x'}}), deadLetterFile: deadLetter, warn: () => {}})
    expect(summary.sinks[0].written).toBe(24)
    expect(summary.sinks[0].deadLettered).toBe(1)
    const entry = JSON.parse(readFileSync(deadLetter, 'utf8').trim())
    expect(entry.reason).toMatch(/HTTP 400/)
    expect(entry.reason).not.toMatch(/Bearer/)
    expect(entry.record.fields).toEqual({id: 7, v: 14})
  })
})
