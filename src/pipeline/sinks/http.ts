/**
 * `type: http`: rows POSTed as a JSON array (one request per batch) to a webhook or ingest API. Network errors,
 * timeouts, 408, 429 and 5xx are transient (retried with backoff); other statuses are permanent (dead letter).
 * Header values are never printed (they often carry tokens: write them as `${env:NAME}`). Credentials in the URL
 * (`https://user:password@host/`) become a Basic Authorization header and leave the URL, so no message, progress
 * line or --json field can show them; with an Authorization header as well the file is refused at load.
 */
import {z} from 'zod'
import {checkedUrl} from '../../config/url-schema.js'
import {checkUrl, httpUrlRules} from '../../net/url-check.js'
import {duration} from '../../config/units-schema.js'
import {defineSink, TransientSinkError, type PipelineRecord} from '../types.js'
import {fetchFailureText, isTransientHttpStatus} from './http-failure.js'

const HTTP_ENDPOINT = httpUrlRules('an HTTP endpoint', 'http://127.0.0.1:8080/ingest')

const options = z
  .strictObject({
    url: checkedUrl((url) => checkUrl(url, HTTP_ENDPOINT)).meta({format: 'uri', description: 'http:// or https:// endpoint; user:password@ in it is sent as Basic authorization (prefer a header with ${env:NAME}).'}),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}).meta({description: 'Extra headers, e.g. Authorization: "Bearer ${env:TOKEN}". Never printed.'}),
    body: z.enum(['array', 'ndjson']).default('array').meta({description: 'array: a JSON array of rows per request; ndjson: one JSON row per line.'}),
    timeout: duration({positive: true}).default(10_000).meta({description: 'Per request.'}),
  })
  .superRefine((o, ctx) => {
    // A URL refused above has its issue already.
    if (!URL.canParse(o.url)) return
    const url = new URL(o.url)
    const auth = Object.keys(o.headers).some((h) => h.toLowerCase() === 'authorization')
    if ((url.username || url.password) && auth) {
      ctx.addIssue({code: 'custom', path: ['url'], message: 'url: credentials in the URL and an Authorization header both authorize the request: keep one (the header, with ${env:NAME})'})
    }
    for (const [name, value] of Object.entries(o.headers)) {
      try {
        new Headers([[name, value]])
      } catch {
        ctx.addIssue({code: 'custom', path: ['headers', name], message: `headers.${name}: not a valid HTTP header name or value (value not shown)`})
      }
    }
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
    const headers: Record<string, string> = {'content-type': opts.body === 'array' ? 'application/json' : 'application/x-ndjson', ...opts.headers}
    if (target.username || target.password) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`).toString('base64')}`
      target.username = ''
      target.password = ''
    }
    const url = target.toString()
    return {
      name,
      async open() {},
      async write(batch: readonly PipelineRecord[]) {
        const rows = batch.map((r) => r.fields)
        const body = opts.body === 'array' ? JSON.stringify(rows) : `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`
        let res: Response
        try {
          res = await fetch(url, {
            method: opts.method,
            headers,
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
