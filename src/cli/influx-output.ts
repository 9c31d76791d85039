/**
 * `--out influxdb=URL` for sim and bench (as k6's outputs): the run's per-second figures written to InfluxDB while it
 * runs, through the pipeline's influxdb sink (one line-protocol writer, one HTTP and auth path). A point per second
 * and per fleet (sim) or per run (bench); writes never hold the run up: they go out in the background, at most
 * MAX_PENDING seconds queue while InfluxDB is slow or away, older ones are dropped and counted, and the first
 * failure is reported once.
 */
import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import {retryWithBackoff, untilAborted, type BackoffOptions} from '../net/backoff.js'
import {withInterrupt} from './interrupt.js'
import {redactUrl} from '../net/redact-url.js'
import {describeFetchFailure} from '../pipeline/sinks/http-failure.js'
import {isTransientSinkError, type PipelineRecord, type Sink, type StageContext} from '../pipeline/types.js'

const MAX_PENDING = 60
/** Per request to InfluxDB. */
const TIMEOUT_MS = 5000

/** Query parameters InfluxDB reads credentials from. */
const CREDENTIAL_PARAMS = ['u', 'p', 'token', 'password']

export interface InfluxOutputTarget {
  url: string
  database?: string
  bucket?: string
  org?: string
}

/** `influxdb=http://host:8086/db` (1.x) or `influxdb=http://host:8086?bucket=b&org=o` (2.x/3.x); undefined for other --out values. */
export function parseInfluxOut(value: string): InfluxOutputTarget | undefined {
  const m = /^influxdb=(.+)$/.exec(value)
  if (!m) return undefined
  // The value as messages quote it: a URL that did not parse is the likeliest to hold a password in plain sight.
  const shown = `--out influxdb=${redactUrl(m[1])}`
  let u: URL
  try {
    u = new URL(m[1])
  } catch {
    throw new UsageError(`${shown}: not a URL (try influxdb=http://127.0.0.1:8086/iotd)`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`${shown}: InfluxDB is reached over http:// or https://`)
  // InfluxDB 1.x also reads ?u=&p= (and 2.x a token); iotd builds its own request URLs, so they would be ignored.
  if (u.username || u.password || CREDENTIAL_PARAMS.some((k) => u.searchParams.has(k))) {
    throw new UsageError(`${shown}: put no credentials in the URL; use IOTD_INFLUX_TOKEN, or IOTD_INFLUX_USERNAME and IOTD_INFLUX_PASSWORD`)
  }
  const bucket = u.searchParams.get('bucket') ?? undefined
  const org = u.searchParams.get('org') ?? undefined
  const database = u.pathname.replace(/^\/+|\/+$/g, '') || undefined
  if (!bucket && !database) throw new UsageError(`${shown}: name the database (influxdb=http://host:8086/iotd) or the bucket (?bucket=iotd&org=acme)`)
  if (bucket && database) throw new UsageError(`${shown}: a database path or a bucket, not both`)
  return {url: `${u.protocol}//${u.host}`, database, bucket, org}
}

export interface InfluxOutput {
  /** Queues one second's points (fields by name, tags by name); returns at once. */
  write(points: {measurement: string; tags: Record<string, string>; fields: Record<string, number>; at: number}[]): void
  /** Waits for what is queued (bounded), then reports what could not be written. */
  close(): Promise<{written: number; dropped: number; failed: number}>
}

export async function startInfluxOutput(target: InfluxOutputTarget, tagNames: string[], warn: (m: string) => void): Promise<InfluxOutput> {
  const {influxdbSink} = await import('../pipeline/sinks/influxdb.js')
  const env = process.env
  const options = influxdbSink.options.parse({
    url: target.url,
    ...(target.database ? {database: target.database, createDatabase: true} : {bucket: target.bucket, org: target.org}),
    measurement: '${measurement}',
    tags: tagNames,
    precision: 'ms',
    tokenEnv: env.IOTD_INFLUX_TOKEN ? 'IOTD_INFLUX_TOKEN' : undefined,
    usernameEnv: env.IOTD_INFLUX_USERNAME ? 'IOTD_INFLUX_USERNAME' : undefined,
    passwordEnv: env.IOTD_INFLUX_PASSWORD ? 'IOTD_INFLUX_PASSWORD' : undefined,
    timeout: TIMEOUT_MS,
  })
  const sink: Sink = influxdbSink.create(options, 'out-influxdb', {baseDir: '.', env})
  const ctx = {signal: new AbortController().signal, deadLetter: () => {}, warn}
  // The check runs before the command's own interrupt handling starts, so it brings its own: Ctrl-C ends it as an
  // interrupted run (exit 130, one line) instead of killing the process by the signal.
  await withInterrupt((signal) => openWithRetry(sink, ctx, target, warn, signal))
  const queue: PipelineRecord[][] = []
  let writing: Promise<void> | undefined
  let written = 0
  let dropped = 0
  let failed = 0
  let warned = false
  const pump = (): void => {
    if (writing || queue.length === 0) return
    const batch = queue.splice(0, queue.length).flat()
    writing = sink
      .write(batch)
      .then(() => {
        written += batch.length
      })
      .catch((error: Error) => {
        failed += batch.length
        if (!warned) {
          warned = true
          warn(`--out influxdb: ${error.message}; the figures of the run go on without it (counted at the end)`)
        }
      })
      .finally(() => {
        writing = undefined
        pump()
      })
  }
  return {
    write(points) {
      queue.push(points.map((p) => ({ts: p.at, fields: {measurement: p.measurement, ...p.tags, ...p.fields}, meta: {source: 'out-influxdb'}})))
      while (queue.length > MAX_PENDING) dropped += queue.shift()!.length
      pump()
    },
    async close() {
      pump()
      const deadline = Date.now() + 10_000
      while ((writing || queue.length > 0) && Date.now() < deadline) {
        await writing
        pump()
      }
      for (const q of queue.splice(0)) dropped += q.length
      await sink.close()
      if (dropped + failed > 0) warn(`--out influxdb: ${written} points written, ${failed} failed, ${dropped} dropped (InfluxDB was slow or away)`)
      return {written, dropped, failed}
    },
  }
}

/** As the broker check before a run: a few attempts with backoff, so an InfluxDB that is still starting is waited for. */
const CHECK_ATTEMPTS = 5
const CHECK_BACKOFF: BackoffOptions = {initialMs: 500, maxMs: 5000, multiplier: 2, jitter: 'full'}

/**
 * Opens the sink (a ping, or CREATE DATABASE for a 1.x database). An InfluxDB that does not answer is a runtime
 * failure (exit 1) after CHECK_ATTEMPTS tries, one that refuses (credentials, HTTP errors) at once; only a URL no
 * server could answer on (a port fetch refuses) is the --out value's fault (exit 2). Ctrl-C (`signal`) ends the
 * check at once, an attempt in flight included, as an interrupted run (exit 130).
 */
async function openWithRetry(sink: Sink, ctx: StageContext, target: InfluxOutputTarget, warn: (m: string) => void, signal: AbortSignal): Promise<void> {
  const result = await retryWithBackoff(
    () => untilAborted(sink.open(ctx), signal, new Error('interrupted')),
    {...CHECK_BACKOFF, attempts: CHECK_ATTEMPTS, signal},
    (error) => {
      const failure = describeFetchFailure((error as Error).cause, TIMEOUT_MS)
      // The attempt was given up, not answered: whatever it failed with says nothing about InfluxDB.
      if (signal.aborted) return failure
      if (failure.blockedPort) {
        throw new UsageError(`--out influxdb=${redactUrl(target.url)}: ${failure.text}`, ['InfluxDB listens on 8086 unless configured otherwise'])
      }
      if (!isTransientSinkError(error)) throw new IotdError(`--out influxdb: ${(error as Error).message.replace(/^sink out-influxdb: /, '')}`, EXIT_CODES.runtime)
      return failure
    },
    (attempt, delayMs, failure) => warn(`influxdb check ${attempt}/${CHECK_ATTEMPTS} failed (${failure.text}); retrying in ${Math.round(delayMs)}ms`),
  )
  if (result.ok) return
  if (signal.aborted) throw new IotdError(`--out influxdb: interrupted while checking InfluxDB at ${redactUrl(target.url)}`, EXIT_CODES.interrupted)
  throw new IotdError(`--out influxdb: gave up reaching InfluxDB at ${redactUrl(target.url)} after ${CHECK_ATTEMPTS} attempts: ${result.last?.text ?? 'no attempt made'}`, EXIT_CODES.runtime, [
    'start InfluxDB, or correct the URL of --out influxdb=',
  ])
}
