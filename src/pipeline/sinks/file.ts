/**
 * `file` sink: JSON lines, CSV, or iotd's capture format, with rotation by size and by time.
 *
 * In `pipeline run` (durable writes): write() resolves only once its batch is written and synced (fdatasync), so the
 * runtime acknowledges a message, and commits a checkpoint, only over rows on disk. A failed write (a full disk) is
 * cut back to the last whole row and rejected as transient: the runtime retries the batch with backoff (`retry:`),
 * and the file sink goes on once there is room again.
 *
 * `iotd record` (buffered writes): rows are collected in memory and written out at least every `flushInterval`
 * (1 s), then the file is synced, so a crash of the process or the machine loses at most about the last second.
 * write() resolves once the batch is buffered; it waits for the disk only when the buffer is over `bufferSize`,
 * which is the backpressure. whenDurable(fn) calls fn once everything written so far is synced (at once rather than
 * at the interval; rows that arrive meanwhile share the next sync), so a caller can acknowledge only what is on
 * disk. A failed write is cut back to the last whole row (a disk that fills mid-row leaves no torn row) and fails
 * every later call.
 *
 * A fresh run replaces the file (unless `append`); a run that resumes from a checkpoint (pipeline/state) appends, or
 * with rotation starts the file after the last one, since the checkpoint forgot the input of the rows already written.
 *
 * Rotation: with `rotateSize` or `rotateEvery`, files are named `<stem>.<n><ext>` (capture.0001.csv, capture.0002.csv,
 * ...), each with its own header, so every file replays on its own.
 */
import {readdirSync} from 'node:fs'
import {mkdir, open, type FileHandle} from 'node:fs/promises'
import {basename, dirname, extname, join, resolve} from 'node:path'
import {z} from 'zod'
import {duration, size} from '../../config/units-schema.js'
import {EXIT_CODES, IotdError} from '../../errors.js'
import {captureHeaderLine, csvCell, csvLine} from '../../capture/writer.js'
import {captureRow, encodePayload} from '../../capture/format.js'
import {defineSink, TransientSinkError, type PipelineRecord, type Sink, type StageContext} from '../types.js'

export const fileSinkOptions = z
  .object({
    path: z.string().min(1).describe('File to write (relative to the pipeline file).'),
    format: z.enum(['jsonl', 'csv', 'capture']).default('jsonl').describe('jsonl: one row as a JSON object a line; csv: ts,topic + columns; capture: iotd capture format.'),
    wrap: z
      .boolean()
      .optional()
      .describe('jsonl: write each row wrapped as {"ts", "topic", "payload": row} instead of the row itself (default false).'),
    columns: z.array(z.string()).optional().describe('csv: field paths to write as columns (default: the payload as one column).'),
    properties: z.boolean().default(false).describe('capture: add the properties column (MQTT 5 properties as JSON).'),
    rotateSize: size().optional().describe('Start a new file when this one reaches this size (e.g. 100MiB).'),
    rotateEvery: duration().optional().describe('Start a new file at this interval (e.g. 1h).'),
    flushInterval: duration().default(1000).describe('iotd record only: write out and sync at least this often. In pipeline run every batch is written and synced before it is acknowledged.'),
    bufferSize: size().default(1024 * 1024).describe('iotd record only: buffered bytes before write() waits for the disk.'),
    append: z
      .boolean()
      .default(false)
      .describe(
        'Append to an existing file instead of replacing it (no rotation). A run that resumes from a checkpoint always keeps what earlier runs wrote: it appends, or with rotation starts the next file.',
      ),
  })
  .strict()

export type FileSinkOptions = z.infer<typeof fileSinkOptions>

export const fileSink = defineSink<FileSinkOptions>({
  type: 'file',
  summary: 'Writes records to a file: JSON lines, CSV or the iotd capture format, rotated by size or time.',
  options: fileSinkOptions,
  example: {path: 'out/alerts.jsonl', format: 'jsonl', rotateSize: '100MiB'},
  // Every batch is synced before write() resolves: as many rows to a sync as the load brings (interval 0: the end of
  // the source batch), not one fdatasync a row.
  batch: {count: 1024, intervalMs: 0},
  create: (options, name, env) => new FileSink(name, {...options, path: resolve(env.baseDir, options.path)}, Date.now, {durable: true}),
})

export interface FileSinkStats {
  rows: number
  bytes: number
  /** Rows and bytes written and synced (fdatasync): what a crash or a failed write can no longer take away. */
  syncedRows: number
  syncedBytes: number
  /** Every file written, in order. */
  files: string[]
}

export class FileSink implements Sink {
  readonly stats: FileSinkStats = {rows: 0, bytes: 0, syncedRows: 0, syncedBytes: 0, files: []}
  private handle: FileHandle | undefined
  private buffer: string[] = []
  private buffered = 0
  private fileBytes = 0
  private fileStartedAt = 0
  private index = 0
  private timer: NodeJS.Timeout | undefined
  private flushing: Promise<void> = Promise.resolve()
  private failure: Error | undefined
  /** Told of the first failed write at once (a background flush fails while the caller may be waiting for input). */
  onFailure: ((error: Error) => void) | undefined
  /** Callbacks for the rows in `buffer`: they run once those rows are synced. */
  private waiting: Array<() => void> = []
  /** Rows (not the header) in `buffer`. */
  private bufferedRows = 0
  private groupCommit: NodeJS.Immediate | undefined
  /** Bytes of the current file known to be written whole: a failed write is truncated back to here. */
  private fileWritten = 0
  private readonly rotates: boolean
  /** The run resumes from a checkpoint: append (or, rotating, go on after the last file) instead of replacing. */
  private resuming = false
  private readonly header: string | undefined

  constructor(
    readonly name: string,
    private readonly options: FileSinkOptions,
    private readonly now: () => number = Date.now,
    /** durable: write() resolves once its rows are synced and rejects (transient) when they cannot be; see above. */
    private readonly mode: {durable: boolean} = {durable: false},
  ) {
    this.rotates = options.rotateSize !== undefined || options.rotateEvery !== undefined
    this.header =
      options.format === 'capture' ? captureHeaderLine(options.properties) : options.format === 'csv' ? csvLine(['ts', 'topic', ...(options.columns ?? ['payload'])]) : undefined
  }

  /** The file being written now. */
  get currentPath(): string | undefined {
    return this.stats.files.at(-1)
  }

  async open(ctx: StageContext): Promise<void> {
    // A resumed run keeps the earlier runs' rows: its checkpoint forgot the input they came from.
    this.resuming = ctx.resuming === true
    if (this.resuming && this.rotates) this.index = lastRotatedIndex(this.options.path)
    await this.openNext()
    if (this.mode.durable) return
    this.timer = setInterval(() => {
      this.flush().catch((err: Error) => (this.failure ??= err))
    }, Math.max(10, this.options.flushInterval))
    this.timer.unref()
  }

  async write(batch: readonly PipelineRecord[]): Promise<void> {
    if (this.failure) throw this.failure
    for (const r of batch) {
      if (this.rotates && this.dueForRotation()) await this.rotate()
      const line = this.format(r)
      this.buffer.push(line)
      const n = Buffer.byteLength(line)
      this.buffered += n
      this.fileBytes += n
      this.stats.bytes += n
      this.stats.rows++
      this.bufferedRows++
    }
    if (this.mode.durable || this.buffered >= this.options.bufferSize) await this.flush()
  }

  /**
   * Calls `fn` once every row written so far is on disk (written and fdatasync'd). Never called when that fails:
   * what was not stored is not acknowledged.
   */
  whenDurable(fn: () => void): void {
    if (this.failure) return
    if (this.buffer.length === 0 && this.waiting.length === 0) {
      // Nothing buffered: whatever came before is synced or in a flush already under way.
      this.flushing.then(() => this.failure === undefined && fn(), () => undefined)
      return
    }
    this.waiting.push(fn)
    // At once (after the current batch): a broker sends a QoS 1 subscriber only so many unacknowledged messages
    // (mosquitto: 20), so the recording's speed is that many per sync. Rows arriving while a sync runs share the
    // next one (a group commit).
    this.groupCommit ??= setImmediate(() => {
      this.groupCommit = undefined
      this.flush().catch((err: Error) => (this.failure ??= err))
    })
  }

  async flush(): Promise<void> {
    const run = this.flushing.then(() => this.writeOut())
    this.flushing = run.catch(() => undefined)
    await run
    if (this.failure) throw this.failure
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if (this.groupCommit) clearImmediate(this.groupCommit)
    this.groupCommit = undefined
    await this.flush().catch(() => undefined)
    await this.handle?.close()
    this.handle = undefined
    if (this.failure) throw this.failure
  }

  private async writeOut(): Promise<void> {
    const handle = this.handle
    if (!handle || this.failure || this.buffer.length === 0) return
    const text = this.buffer.join('')
    const durable = this.waiting
    const rows = this.bufferedRows
    this.buffer = []
    this.buffered = 0
    this.bufferedRows = 0
    this.waiting = []
    const bytes = Buffer.from(text)
    const before = this.fileWritten
    try {
      // One write() may store less than asked (a disk filling up stores part, then fails): loop to the end.
      for (let off = 0; off < bytes.length; ) {
        const {bytesWritten} = await handle.write(bytes, off, bytes.length - off)
        if (bytesWritten === 0) throw Object.assign(new Error('no space left on device'), {code: 'ENOSPC'})
        off += bytesWritten
      }
      await handle.datasync()
      this.fileWritten = before + bytes.length
      this.stats.syncedRows += rows
      // The header is not a row, but its bytes are in the file like any row's.
      this.stats.syncedBytes += bytes.length
    } catch (error) {
      const failed = writeError(this.currentPath ?? this.options.path, error as NodeJS.ErrnoException)
      // This write may have stored part of a row: cut the file back to where it began, the end of the last whole
      // row. Its rows' callbacks never run, so they are not acknowledged.
      await handle.truncate(before).catch(() => undefined)
      if (this.mode.durable) {
        // The caller still holds these rows and writes them again (retry with backoff): forget them here, and the
        // header with them unless it is on disk.
        const header = this.header !== undefined && before === 0 ? this.header : ''
        this.stats.rows -= rows
        this.stats.bytes -= bytes.length - Buffer.byteLength(header)
        this.fileBytes -= bytes.length - Buffer.byteLength(header)
        if (header) {
          this.buffer.push(header)
          this.buffered += header.length
        }
        throw new TransientSinkError(failed.message, {cause: error})
      }
      this.failure ??= failed
      this.onFailure?.(this.failure)
      return
    }
    for (const fn of durable) fn()
  }

  private dueForRotation(): boolean {
    const o = this.options
    const headerBytes = this.header ? Buffer.byteLength(this.header) : 0
    if (o.rotateSize !== undefined && this.fileBytes > headerBytes && this.fileBytes >= o.rotateSize) return true
    return o.rotateEvery !== undefined && this.now() - this.fileStartedAt >= o.rotateEvery
  }

  private async rotate(): Promise<void> {
    await this.flush()
    await this.handle?.close()
    this.handle = undefined
    await this.openNext()
  }

  private async openNext(): Promise<void> {
    const o = this.options
    let path = o.path
    if (this.rotates) {
      this.index++
      const ext = extname(o.path)
      path = join(dirname(o.path), `${basename(o.path, ext)}.${String(this.index).padStart(4, '0')}${ext}`)
    }
    try {
      await mkdir(dirname(path), {recursive: true})
      this.handle = await open(path, (o.append || this.resuming) && !this.rotates ? 'a+' : 'w')
    } catch (error) {
      throw writeError(path, error as NodeJS.ErrnoException)
    }
    this.stats.files.push(path)
    this.fileStartedAt = this.now()
    this.fileBytes = 0
    let size = (o.append || this.resuming) && !this.rotates ? (await this.handle.stat()).size : 0
    // A run killed in the middle of a write can leave part of a row at the end: cut it, so the rows appended now
    // do not continue it. It was never synced, so it was never acknowledged: the resumed run writes it again.
    // In capture and csv a quoted cell may hold a line end (a payload with newlines): there a row ends at the last
    // line end outside quotes, not at the last line end.
    if (size > 0 && this.resuming) size = o.format === 'jsonl' ? await cutTornRow(this.handle, size) : await cutTornCsvRow(this.handle, size)
    this.fileWritten = size
    if (this.header && size === 0) {
      this.buffer.push(this.header)
      this.buffered += this.header.length
      this.fileBytes += this.header.length
    }
  }

  private format(r: PipelineRecord): string {
    const o = this.options
    // The row itself, as a rule produced it; `wrap: true` adds time and topic around it (tail's ndjson shape).
    if (o.format === 'jsonl' && o.wrap !== true && r.payload === undefined && r.fields !== null && typeof r.fields === 'object') return `${JSON.stringify(r.fields)}\n`
    const topic = r.topic ?? r.meta.topic ?? ''
    const payload = r.payload ?? Buffer.from(typeof r.fields === 'string' ? r.fields : JSON.stringify(r.fields ?? null))
    switch (o.format) {
      case 'capture':
        return csvLine(captureRow({tsMs: r.ts, topic, qos: r.meta.qos ?? 0, retain: r.meta.retain ?? false, payload, properties: r.meta.properties}, o.properties))
      case 'csv': {
        let line = `${csvCell(new Date(r.ts).toISOString())},${csvCell(topic)}`
        if (o.columns) for (const c of o.columns) line += `,${csvCell(cellText(pick(r.fields, c)))}`
        else line += `,${csvCell(encodePayload(payload).text)}`
        return `${line}\n`
      }
      case 'jsonl':
        return `${JSON.stringify(jsonlObject(r, topic, payload))}\n`
    }
  }
}

/** The size of the file without a last row that has no line end (that row's bytes cut off). */
async function cutTornRow(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024)
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - chunk.length)
    const {bytesRead} = await handle.read(chunk, 0, end - start, start)
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a)
    if (at >= 0) {
      const whole = start + at + 1
      if (whole < size) await handle.truncate(whole)
      return whole
    }
    end = start
  }
  await handle.truncate(0)
  return 0
}

/**
 * cutTornRow for csv as this sink writes it (csvCell: a cell holding '"', ',' or a line end is quoted, a quote inside
 * doubled): the file is read from its start counting quotes, and the last '\n' met outside quotes ends the last
 * whole row. A doubled quote flips the count twice, so it needs no special case.
 */
async function cutTornCsvRow(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024)
  let quoted = false
  let whole = 0
  for (let start = 0; start < size; ) {
    const {bytesRead} = await handle.read(chunk, 0, Math.min(chunk.length, size - start), start)
    if (bytesRead === 0) break
    for (let i = 0; i < bytesRead; i++) {
      const c = chunk[i]
      if (c === 0x22) quoted = !quoted
      else if (c === 0x0a && !quoted) whole = start + i + 1
    }
    start += bytesRead
  }
  if (whole < size) await handle.truncate(whole)
  return whole
}

/** The highest n of the rotated files `<stem>.<n><ext>` next to `path` (0: none). */
function lastRotatedIndex(path: string): number {
  const ext = extname(path)
  const stem = basename(path, ext)
  let last = 0
  let names: string[] = []
  try {
    names = readdirSync(dirname(path))
  } catch {
    return 0
  }
  for (const name of names) {
    if (!name.startsWith(`${stem}.`) || !name.endsWith(ext)) continue
    const n = name.slice(stem.length + 1, name.length - ext.length)
    if (/^\d{4,}$/.test(n)) last = Math.max(last, Number(n))
  }
  return last
}

/** The JSON-lines shape (shared with `iotd tail --format ndjson`): decoded fields when there are any, else the payload as text or base64. */
export function jsonlObject(r: PipelineRecord, topic: string, payload: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {ts: new Date(r.ts).toISOString(), topic}
  if (r.meta.qos !== undefined) out.qos = r.meta.qos
  if (r.meta.retain !== undefined) out.retain = r.meta.retain
  if (r.fields !== undefined && typeof r.fields !== 'string') out.payload = r.fields
  else {
    const {encoding, text} = encodePayload(payload)
    out.payload = text
    if (encoding !== 'utf8') out.encoding = encoding
  }
  if (r.meta.properties) out.properties = propertiesJson(r.meta.properties)
  return out
}

function propertiesJson(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(p)) out[k] = Buffer.isBuffer(v) ? {base64: v.toString('base64')} : v
  return out
}

function pick(fields: unknown, path: string): unknown {
  let v = fields
  for (const k of path.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined
  return v
}

function cellText(v: unknown): string {
  if (v === undefined || v === null) return ''
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}

function writeError(file: string, error: NodeJS.ErrnoException): IotdError {
  const why = error.code === 'ENOENT' ? 'its directory does not exist' : error.code === 'EACCES' ? 'permission denied' : error.code === 'ENOSPC' ? 'the disk is full' : error.message
  return new IotdError(`cannot write ${file}: ${why}`, EXIT_CODES.runtime)
}
