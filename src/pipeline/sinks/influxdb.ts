/**
 * `type: influxdb`: rows as InfluxDB line protocol, one HTTP write per batch. `database:` writes to InfluxDB 1.x's
 * `/write`; `bucket:` + `org:` to `/api/v2/write` (InfluxDB 2.x, 3.x and 1.8+). Tags and fields are chosen from the
 * row's columns, the timestamp is the row's event time (or a column) at the chosen precision.
 *
 * Failures: connection errors, timeouts, 429 and 5xx are transient (the sink runner retries with backoff until the
 * server is back); any other status is permanent. A batch InfluxDB refuses in part (400 "partial write": a field
 * type conflict, a line it cannot parse) is refused as a whole here, so the sink runner writes its rows one at a
 * time and only the bad ones go to the dead letter. InfluxDB keeps the good points of a partial write, and writing
 * a point again (same measurement, tag set and time) replaces it, so the rows written twice are stored once.
 *
 * Numbers are written as floats (InfluxDB's own default), so 21 and 21.5 in one column do not conflict; columns
 * listed in `integers:` are written as integers and a fractional value there is refused, not rounded.
 * Credentials come from the environment (`tokenEnv`, `passwordEnv`) and never appear in messages.
 *
 * Hand-written over fetch rather than @influxdata/influxdb-client: that client buffers, batches and retries by
 * itself (a second copy of the sink runner's machinery) and speaks only the 2.x API.
 */
import {z} from 'zod'
import {checkedUrl} from '../../config/url-schema.js'
import {checkUrl, httpUrlRules} from '../../net/url-check.js'
import {duration} from '../../config/units-schema.js'
import {compileRecordTemplate, templateFields} from '../record-template.js'
import {isPlainObject, toEpochMs} from '../records.js'
import {defineSink, TransientSinkError, type PipelineRecord} from '../types.js'
import {describeFetchFailure, fetchFailureText, isTransientHttpStatus} from './http-failure.js'

const column = z.string().regex(/^[^\s,=\\"]+$/, 'a column name has no spaces, commas, = , quotes or backslashes')

const INFLUXDB_URL = httpUrlRules('an InfluxDB URL', 'http://127.0.0.1:8086')

const options = z
  .strictObject({
    url: checkedUrl((url) => checkUrl(url, INFLUXDB_URL)).meta({format: 'uri', description: 'The server, e.g. http://127.0.0.1:8086 (no credentials in the URL: use usernameEnv/passwordEnv or tokenEnv).'}),
    database: z.string().min(1).optional().meta({description: 'InfluxDB 1.x database: writes go to /write.'}),
    retentionPolicy: z.string().min(1).optional().meta({description: 'InfluxDB 1.x retention policy (default: the database\'s default).'}),
    bucket: z.string().min(1).optional().meta({description: 'InfluxDB 2.x/3.x bucket: writes go to /api/v2/write (with org).'}),
    org: z.string().min(1).optional().meta({description: 'InfluxDB 2.x organisation (name or id); required with bucket on 2.x.'}),
    measurement: z.string().min(1).meta({description: 'Measurement name, a template: cpu, or plant_${site} from a column.'}),
    tags: z.array(column).default([]).meta({description: 'Columns written as tags (indexed strings). Missing, null or empty values are left out.'}),
    fields: z.array(column).optional().meta({description: 'Columns written as fields (default: every column that is not a tag, the time column or in the measurement template).'}),
    integers: z.array(column).default([]).meta({description: 'Field columns written as integers (default: numbers are floats); a fractional value there is refused.'}),
    time: column.optional().meta({description: 'Column holding the time (epoch ms or ISO-8601); default: the row\'s event time (window rows: the time the window fired for).'}),
    precision: z.enum(['s', 'ms', 'us', 'ns']).default('ms').meta({description: 'Timestamp precision written (s, ms, us, ns); finer parts are cut off.'}),
    tokenEnv: z.string().min(1).optional().meta({description: 'Environment variable holding an API token (Authorization: Token).'}),
    usernameEnv: z.string().min(1).optional().meta({description: 'Environment variable holding the user name (HTTP basic auth, InfluxDB 1.x).'}),
    passwordEnv: z.string().min(1).optional().meta({description: 'Environment variable holding the password (HTTP basic auth, InfluxDB 1.x).'}),
    createDatabase: z.boolean().default(false).meta({description: 'InfluxDB 1.x: CREATE DATABASE when the sink opens (harmless if it exists).'}),
    timeout: duration({positive: true}).default(10_000).meta({description: 'Per request.'}),
  })
  .superRefine((o, ctx) => {
    if ((o.database === undefined) === (o.bucket === undefined)) ctx.addIssue({code: 'custom', message: 'give either database (InfluxDB 1.x) or bucket (2.x/3.x), not both or neither', path: ['database']})
    if (o.createDatabase && o.database === undefined) ctx.addIssue({code: 'custom', message: 'createDatabase needs database (InfluxDB 1.x)', path: ['createDatabase']})
    if (o.retentionPolicy !== undefined && o.database === undefined) ctx.addIssue({code: 'custom', message: 'retentionPolicy is for database (InfluxDB 1.x); a bucket has its own retention', path: ['retentionPolicy']})
    for (const i of o.integers) if (o.tags.includes(i)) ctx.addIssue({code: 'custom', message: `"${i}" is a tag; integers lists field columns`, path: ['integers']})
    if (o.fields) for (const f of o.fields) if (o.tags.includes(f)) ctx.addIssue({code: 'custom', message: `"${f}" is both a tag and a field`, path: ['fields']})
  })

type Options = z.output<typeof options>

/** Line protocol escapes: measurement (comma, space), tag keys/values and field keys (comma, equals, space). */
const MEASUREMENT_SPECIAL = /[, ]/g
const NEEDS_MEASUREMENT_ESCAPE = /[, ]/
const KEY_SPECIAL = /[,= ]/g
const NEEDS_KEY_ESCAPE = /[,= \n\r]/
const NEEDS_STRING_ESCAPE = /["\\]/
const HAS_NEWLINE = /[\n\r]/

function escapeKey(s: string): string {
  return NEEDS_KEY_ESCAPE.test(s) ? s.replace(KEY_SPECIAL, '\\$&') : s
}

/** A row InfluxDB cannot store as given (no fields, NaN, a fraction in an integer column): refused, with the why. */
export class LineError extends Error {}

export interface LineEncoder {
  /** One line (no newline at the end); throws LineError for a row that cannot be written. */
  line(r: PipelineRecord): string
}

/** Builds the line-protocol encoder for the options (exported for the unit tests and the perf harness). */
export function lineEncoder(o: Pick<Options, 'measurement' | 'tags' | 'fields' | 'integers' | 'time' | 'precision'>): LineEncoder {
  const measurementOf = compileRecordTemplate(o.measurement, (m) => m.length > 0 && !HAS_NEWLINE.test(m))
  const tags = [...o.tags].sort() // InfluxDB wants tags sorted by key; sorting here spares the server the work
  const tagKeys = tags.map(escapeKey)
  const integers = new Set(o.integers)
  const skipped = new Set([...o.tags, ...(o.time ? [o.time] : []), ...templateFields(o.measurement)])
  const fixedFields = o.fields?.map((f) => ({name: f, key: escapeKey(f), integer: integers.has(f)}))
  const fieldKeys = new Map<string, string>()
  const keyOf = (name: string): string => {
    let k = fieldKeys.get(name)
    if (k === undefined) {
      k = escapeKey(name)
      if (fieldKeys.size < 10_000) fieldKeys.set(name, k)
    }
    return k
  }
  const timeOf = timestampWriter(o.precision)

  const fieldText = (name: string, key: string, v: unknown, integer: boolean): string | undefined => {
    if (v === undefined || v === null) return undefined
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new LineError(`field "${name}" is ${v}, which InfluxDB cannot store`)
      if (integer) {
        if (!Number.isInteger(v)) throw new LineError(`field "${name}" is listed in integers but is ${v}`)
        return `${key}=${v}i`
      }
      return `${key}=${v}`
    }
    if (typeof v === 'boolean') return `${key}=${v ? 't' : 'f'}`
    if (integer) throw new LineError(`field "${name}" is listed in integers but is ${typeof v === 'string' ? `"${v}"` : typeof v}`)
    // Strings as string fields; objects and arrays as their JSON text (InfluxDB has no nested values).
    const s = typeof v === 'string' ? v : JSON.stringify(v)
    return `${key}="${NEEDS_STRING_ESCAPE.test(s) ? s.replace(/["\\]/g, '\\$&') : s}"`
  }

  return {
    line(r) {
      const row = isPlainObject(r.fields) ? r.fields : undefined
      if (!row) throw new LineError('the row has no columns (InfluxDB needs at least one field)')
      const measurement = measurementOf(r)
      if (measurement === undefined) throw new LineError(`no measurement: the template ${o.measurement} names a column the row does not have`)
      let out = NEEDS_MEASUREMENT_ESCAPE.test(measurement) ? measurement.replace(MEASUREMENT_SPECIAL, '\\$&') : measurement
      for (let i = 0; i < tags.length; i++) {
        const v = row[tags[i]]
        if (v === undefined || v === null || v === '') continue
        const s = typeof v === 'object' ? JSON.stringify(v) : String(v)
        if (HAS_NEWLINE.test(s)) throw new LineError(`tag "${tags[i]}" holds a line break, which line protocol cannot carry`)
        out += `,${tagKeys[i]}=${escapeKey(s)}`
      }
      let sep = ' '
      let n = 0
      if (fixedFields) {
        for (const f of fixedFields) {
          const t = fieldText(f.name, f.key, row[f.name], f.integer)
          if (t === undefined) continue
          out += sep + t
          sep = ','
          n++
        }
      } else {
        for (const name in row) {
          if (skipped.has(name)) continue
          if (HAS_NEWLINE.test(name)) throw new LineError('a column name holds a line break')
          const t = fieldText(name, keyOf(name), row[name], integers.has(name))
          if (t === undefined) continue
          out += sep + t
          sep = ','
          n++
        }
      }
      if (n === 0) throw new LineError('no field has a value (InfluxDB needs at least one field per point)')
      let ms = r.ts
      if (o.time) {
        const t = toEpochMs(row[o.time])
        if (t === undefined) throw new LineError(`time column "${o.time}" is missing or not a time`)
        ms = t
      }
      return `${out} ${timeOf(ms)}`
    },
  }
}

/** Epoch ms (possibly fractional) -> the integer timestamp text at `precision`, cut toward the past. */
export function timestampWriter(precision: Options['precision']): (ms: number) => string {
  switch (precision) {
    case 's':
      return (ms) => String(Math.floor(ms / 1000))
    case 'ms':
      return (ms) => String(Math.floor(ms))
    case 'us':
      return (ms) => String(Math.floor(ms * 1000))
    case 'ns':
      // ms × 1e6 passes 2^53: the whole microseconds times 1000, written as text.
      return (ms) => {
        const us = Math.floor(ms * 1000)
        return us === 0 ? '0' : `${us}000`
      }
  }
}

export const influxdbSink = defineSink({
  type: 'influxdb',
  summary: 'Writes rows as InfluxDB line protocol (1.x /write or 2.x/3.x /api/v2/write): tags and fields from columns, precision, partial writes dead-lettered row by row.',
  options,
  batch: {count: 5000, intervalMs: 1000},
  example: {type: 'influxdb', url: 'http://127.0.0.1:8086', database: 'telemetry', measurement: 'env', tags: ['deviceId'], fields: ['temp', 'humidity'], time: 'ts', createDatabase: true},
  create(opts: Options, name, env) {
    const base = new URL(opts.url)
    // Messages name the server without credentials or query strings.
    const where = `${base.protocol}//${base.host}`
    const secret = (v: string | undefined): string | undefined => (v ? env.env[v] : undefined)
    const token = secret(opts.tokenEnv)
    const username = secret(opts.usernameEnv)
    const password = secret(opts.passwordEnv)
    const headers: Record<string, string> = {'content-type': 'text/plain; charset=utf-8'}
    if (token) headers.authorization = `Token ${token}`
    else if (username !== undefined || password !== undefined) headers.authorization = `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}`
    const writeUrl = new URL(opts.database !== undefined ? '/write' : '/api/v2/write', base)
    if (opts.database !== undefined) {
      writeUrl.searchParams.set('db', opts.database)
      if (opts.retentionPolicy) writeUrl.searchParams.set('rp', opts.retentionPolicy)
      writeUrl.searchParams.set('precision', {s: 's', ms: 'ms', us: 'u', ns: 'n'}[opts.precision])
    } else {
      writeUrl.searchParams.set('bucket', opts.bucket!)
      if (opts.org) writeUrl.searchParams.set('org', opts.org)
      writeUrl.searchParams.set('precision', opts.precision)
    }
    const target = opts.database !== undefined ? `database ${opts.database}` : `bucket ${opts.bucket}`
    const encoder = lineEncoder(opts)

    /** One request; the error says what happened and whether a retry may help. */
    const request = async (url: URL, body: string, what: string): Promise<void> => {
      let res: Response
      try {
        res = await fetch(url, {method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeout)})
      } catch (error) {
        throw new TransientSinkError(`influxdb ${where} ${what}: ${fetchFailureText(error, opts.timeout)}`)
      }
      // Read the body so the connection can be reused.
      const text = await res.text().catch(() => '')
      if (res.ok) return
      const detail = `influxdb ${where} ${what}: HTTP ${res.status} ${errorText(text)}`.trimEnd()
      if (isTransientHttpStatus(res.status)) throw new TransientSinkError(detail)
      throw new Error(detail)
    }

    /** open() got no answer: transient when waiting may cure it, so a caller can retry (--out influxdb= does). */
    const noAnswer = (error: unknown): Error => {
      const failure = describeFetchFailure(error, opts.timeout)
      const message = `sink ${name}: influxdb ${where}: ${failure.text}`
      return failure.transient ? new TransientSinkError(message, {cause: error}) : new Error(message, {cause: error})
    }

    return {
      name,
      async open() {
        if (opts.createDatabase && opts.database !== undefined) {
          const q = new URL('/query', base)
          const body = new URLSearchParams({q: `CREATE DATABASE "${opts.database.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`}).toString()
          let res: Response
          try {
            res = await fetch(q, {method: 'POST', headers: {...headers, 'content-type': 'application/x-www-form-urlencoded'}, body, signal: AbortSignal.timeout(opts.timeout)})
          } catch (error) {
            throw noAnswer(error)
          }
          const text = await res.text().catch(() => '')
          if (!res.ok || /"error"/.test(text)) throw new Error(`sink ${name}: influxdb ${where}: CREATE DATABASE ${opts.database}: HTTP ${res.status} ${errorText(text)}`.trimEnd())
          return
        }
        // A server that is not there fails the run before it consumes input (as the postgres sink does).
        try {
          const res = await fetch(new URL('/ping', base), {signal: AbortSignal.timeout(opts.timeout)})
          await res.text().catch(() => '')
        } catch (error) {
          throw noAnswer(error)
        }
      },
      async write(batch: readonly PipelineRecord[]) {
        const lines = new Array<string>(batch.length)
        for (let i = 0; i < batch.length; i++) {
          try {
            lines[i] = encoder.line(batch[i])
          } catch (error) {
            // Permanent: the sink runner then writes the rows one at a time and dead-letters this one alone.
            throw new Error(`influxdb ${where} ${target}: ${(error as Error).message}`)
          }
        }
        await request(writeUrl, `${lines.join('\n')}\n`, target)
      },
      async flush() {},
      async close() {},
    }
  },
})

/** InfluxDB answers errors as {"error": "..."} (1.x) or {"code", "message"} (2.x); one line of it, bounded. */
function errorText(body: string): string {
  let text = body
  try {
    const j = JSON.parse(body) as {error?: string; message?: string}
    text = j.error ?? j.message ?? body
  } catch {
    // not JSON: the text as it came
  }
  return text.slice(0, 300).replace(/\s+/g, ' ').trim()
}
