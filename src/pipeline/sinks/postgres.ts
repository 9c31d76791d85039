/**
 * `type: postgres`: batch INSERTs (one multi-row statement per batch), optionally creating the table from the first
 * rows, and with `key:` an upsert (`ON CONFLICT (key) DO UPDATE`) so replays and redeliveries are idempotent —
 * at-least-once delivery then stores every row exactly once. Works on TimescaleDB hypertables (the key must contain
 * the time column there). Connection failures are transient (retried with backoff); data errors are permanent.
 */
import {z} from 'zod'
import {checkedUrl} from '../../config/url-schema.js'
import {checkUrl, type UrlRules} from '../../net/url-check.js'
import {redactUrl, redactUrlsIn} from '../../net/redact-url.js'
import {toEpochMs} from '../records.js'
import {defineSink, TransientSinkError, type PipelineRecord} from '../types.js'

const ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a column name is letters, digits and _')

/** What pg connects to: a postgres:// or postgresql:// URL; without a host, PGHOST or the local socket. */
const POSTGRES_URL: UrlRules = {what: 'a PostgreSQL URL', schemes: ['postgres', 'postgresql'], example: 'postgres://iot@127.0.0.1:5432/telemetry', hostOptional: true, atAfterHost: true}

const options = z.strictObject({
  url: checkedUrl((url) => checkUrl(url, POSTGRES_URL))
    .optional()
    .meta({description: 'postgres://user@host:5432/db (write the password as ${env:PGPASSWORD}); default: the PG* environment variables.'}),
  table: z
    .string()
    .regex(/^([A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/, 'a table is name or schema.name')
    .meta({description: 'Target table (schema.name allowed).'}),
  key: z.array(ident).optional().meta({description: 'Columns of the unique key: rows are upserted on it (replays are idempotent).'}),
  createTable: z.boolean().default(false).meta({description: 'Create the table if missing, with columns typed from the first batch (and the key as primary key).'}),
  time: z.array(ident).default([]).meta({description: 'Columns holding epoch ms or ISO-8601 that are stored as timestamptz (e.g. [ws, we]).'}),
  columns: z.array(ident).optional().meta({description: 'Only these columns, in this order (default: every field of the rows).'}),
})

type Options = z.output<typeof options>

function q(id: string): string {
  return `"${id.replace(/"/g, '""')}"`
}

function qTable(t: string): string {
  return t.split('.').map(q).join('.')
}

const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', '57P01', '57P02', '57P03', '40001', '40P01', '53300'])

/** Whether a pg error is worth retrying: connections, shutdowns, serialization failures. */
export function isTransientPgError(error: unknown): boolean {
  const e = error as {code?: string; message?: string}
  if (e.code && (TRANSIENT_CODES.has(e.code) || e.code.startsWith('08'))) return true
  return /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(e.message ?? '')
}

function columnType(v: unknown, time: boolean, integer: boolean): string {
  if (time) return 'timestamptz'
  if (typeof v === 'number') return integer ? 'bigint' : 'double precision'
  if (typeof v === 'boolean') return 'boolean'
  if (v !== null && typeof v === 'object') return 'jsonb'
  return 'text'
}

function cellValue(v: unknown, time: boolean): unknown {
  if (v === undefined) return null
  if (time && v !== null) {
    const t = toEpochMs(v)
    return t === undefined ? v : new Date(t)
  }
  if (v !== null && typeof v === 'object') return JSON.stringify(v)
  return v
}

export const postgresSink = defineSink({
  type: 'postgres',
  summary: 'Batch INSERT into PostgreSQL/TimescaleDB, optional create-table, upsert on a key for idempotent replays.',
  options,
  batch: {count: 500, intervalMs: 1000},
  example: {type: 'postgres', url: 'postgres://iot@127.0.0.1:5432/telemetry', table: 'rollup_5m', key: ['deviceId', 'ws'], time: ['ws', 'we'], createTable: true},
  destination(opts: Options) {
    return (r) => {
      const row = (r.fields ?? {}) as Record<string, unknown>
      return {table: opts.table, key: opts.key ? Object.fromEntries(opts.key.map((k) => [k, row[k] ?? null])) : null}
    }
  },
  create(opts: Options, name, env) {
    // Whole-number columns of the rule (count(*) …) become bigint; other numbers double precision.
    const integer = new Set(env.integerColumns ?? [])
    type Pool = import('pg').Pool
    let pool: Pool | undefined
    let columns: string[] | undefined = opts.columns
    let created = false
    const time = new Set(opts.time)
    const where = opts.url ? redactUrl(opts.url) : 'PG* environment'

    const wrap = (error: unknown): Error => {
      const e = error as Error & {code?: string}
      const message = `postgres ${where} ${opts.table}: ${redactUrlsIn(e.message)}${e.code ? ` (${e.code})` : ''}`
      return isTransientPgError(e) ? new TransientSinkError(message, {cause: e}) : new Error(message, {cause: e})
    }

    const ensureTable = async (rows: readonly Record<string, unknown>[]): Promise<void> => {
      if (created || !opts.createTable) return
      const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))]
      const defs = cols.map((c) => {
        const sample = rows.find((r) => r[c] !== null && r[c] !== undefined)?.[c]
        return `${q(c)} ${columnType(sample, time.has(c), integer.has(c))}`
      })
      if (opts.key) defs.push(`PRIMARY KEY (${opts.key.map(q).join(', ')})`)
      await pool!.query(`CREATE TABLE IF NOT EXISTS ${qTable(opts.table)} (${defs.join(', ')})`)
      columns ??= cols
      created = true
    }

    return {
      name,
      async open(ctx) {
        const pg = (await import('pg')).default
        pool = new pg.Pool({connectionString: opts.url, max: 2, connectionTimeoutMillis: 5000, idleTimeoutMillis: 10_000})
        // A connection dying while idle must not crash the process; the next write reconnects (and retries).
        pool.on('error', (e) => ctx.warn(`sink ${name}: postgres connection lost (${e.message}); will reconnect`))
        try {
          const client = await pool.connect()
          client.release()
        } catch (error) {
          await pool.end().catch(() => undefined)
          pool = undefined
          throw wrap(error)
        }
      },
      async write(batch: readonly PipelineRecord[]) {
        if (!pool) throw new Error(`sink ${name} is not open`)
        let rows = batch.map((r) => (r.fields ?? {}) as Record<string, unknown>)
        try {
          await ensureTable(rows)
        } catch (error) {
          throw wrap(error)
        }
        const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))]
        if (opts.key) {
          // One statement cannot update the same key twice: keep the last row per key.
          const byKey = new Map<string, Record<string, unknown>>()
          for (const r of rows) byKey.set(JSON.stringify(opts.key.map((k) => r[k] ?? null)), r)
          rows = [...byKey.values()]
        }
        const values: unknown[] = []
        const tuples = rows.map((r) => `(${cols.map((c) => `$${values.push(cellValue(r[c], time.has(c)))}`).join(', ')})`)
        let sql = `INSERT INTO ${qTable(opts.table)} (${cols.map(q).join(', ')}) VALUES ${tuples.join(', ')}`
        if (opts.key) {
          const rest = cols.filter((c) => !opts.key!.includes(c))
          sql += ` ON CONFLICT (${opts.key.map(q).join(', ')}) DO ${rest.length ? `UPDATE SET ${rest.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}` : 'NOTHING'}`
        }
        try {
          await pool.query(sql, values)
        } catch (error) {
          throw wrap(error)
        }
      },
      async flush() {},
      async close() {
        const p = pool
        pool = undefined
        await p?.end().catch(() => undefined)
      },
    }
  },
})
