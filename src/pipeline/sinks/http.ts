/**
 * `type: http`: rows POSTed as a JSON array (one request per batch) to a webhook or ingest API. Network errors,
 * timeouts, 408, 429 and 5xx are transient (retried with backoff); other statuses are permanent (dead letter).
 * Header values are never printed (they often carry tokens: write them as `${env:NAME}`).
 */
import {z} from 'zod'
import {duration} from '../../config/units-schema.js'
import {defineSink, TransientSinkError, type PipelineRecord} from '../types.js'
import {fetchFailureText, isTransientHttpStatus} from './http-failure.js'

const options = z.strictObject({
  url: z.url({protocol: /^https?$/}).meta({description: 'http:// or https:// endpoint.'}),
  method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
  headers: z.record(z.string(), z.string()).default({}).meta({description: 'Extra headers, e.g. Authorization: "Bearer ${env:TOKEN}". Never printed.'}),
  body: z.enum(['array', 'ndjson']).default('array').meta({description: 'array: a JSON array of rows per request; ndjson: one JSON row per line.'}),
  timeout: duration({positive: true}).default(10_000).meta({description: 'Per request.'}),
})

export const httpSink = defineSink({
  type: 'http',
  summary: 'POST rows as JSON batches to an HTTP endpoint, with headers, retries and backoff.',
  options,
  batch: {count: 100, intervalMs: 1000},
  example: {type: 'http', url: 'http://127.0.0.1:8080/ingest', headers: {Authorization: 'Bearer ${env:INGEST_TOKEN}'}, batch: {count: 100, interval: '1s'}},
  create(opts, name) {
    const target = new URL(opts.url)
    // Messages name the endpoint without credentials or query strings.
    const where = `${target.protocol}//${target.host}${target.pathname}`
    return {
      name,
      async open() {},
      async write(batch: readonly PipelineRecord[]) {
        const rows = batch.map((r) => r.fields)
        const body = opts.body === 'array' ? JSON.stringify(rows) : `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`
        let res: Response
        try {
          res = await fetch(opts.url, {
            method: opts.method,
            headers: {'content-type': opts.body === 'array' ? 'application/json' : 'application/x-ndjson', ...opts.headers},
            body,
            signal: AbortSignal.timeout(opts.timeout),
          })
        } catch (error) {
          throw new TransientSinkError(`${opts.method} ${where}: ${fetchFailureText(error, opts.timeout)}`)
        }
        // Read the body so the connection can be reused.
        const text = await res.text().catch(() => '')
        if (res.ok) return
        const detail = `${opts.method} ${where}: HTTP ${res.status}${text ? ` ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`
        if (isTransientHttpStatus(res.status)) throw new TransientSinkError(detail)
        throw new Error(detail)
      },
      async flush() {},
      async close() {},
    }
  },
})
