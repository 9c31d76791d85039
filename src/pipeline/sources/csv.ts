/**
 * `csv` source: a CSV file (or stdin) streamed through csv-parse, so a multi-GB capture is read in constant memory.
 * Two shapes: iotd's capture format (src/capture/, docs/capture-format.md), recognised by its header, and any
 * other CSV by a column mapping (time column and format, topic template, payload columns). Bad rows are counted and
 * dead-lettered with their row number; with `strict` the first one stops the read.
 */
import {createReadStream, openSync, readSync, closeSync, statSync} from 'node:fs'
import {randomUUID} from 'node:crypto'
import {resolve} from 'node:path'
import {Readable} from 'node:stream'
import {StringDecoder} from 'node:string_decoder'
import {parse, type CsvError, type Parser} from 'csv-parse'
import {z} from 'zod'
import {ConfigError, EXIT_CODES, IotdError} from '../../errors.js'
import {notTextFault} from '../../config/text-file.js'
import {captureLayoutOf, clip, DEFAULT_CAPTURE_LAYOUT, parseCaptureRow, type CaptureLayout} from '../../capture/format.js'
import {defineSource, NOOP_ACK, type Delivery, type PipelineRecord, type RecordMeta, type Source, type StageContext} from '../types.js'
import {plainDecimal} from '../../capture/format.js'
import {CsvRecordGuard} from './csv-record-guard.js'
import {cellValue, detectDelimiter, splitCsvLine, templateColumns, TIME_COLUMN_NAMES, timeParser, topicTemplate, type TimeParser} from './csv-mapping.js'

export const csvSourceOptions = z
  .object({
    path: z.string().min(1).describe('CSV file to read; `-` reads stdin.'),
    format: z.enum(['auto', 'capture', 'mapped']).default('auto').describe('capture = iotd capture format; mapped = columns mapped below; auto = capture when the header says so.'),
    delimiter: z.string().min(1).max(1).optional().describe('Field delimiter; detected from the first line when absent.'),
    header: z.boolean().default(true).describe('The first row names the columns.'),
    columns: z.array(z.string()).optional().describe('Column names for a file without a header (otherwise 1, 2, 3, ...).'),
    timeColumn: z.string().optional().describe('Mapped: the column holding the time (default: ts, time, timestamp, ...).'),
    timeFormat: z.string().default('auto').describe("Mapped: auto, iso, epoch-s, epoch-ms, epoch-us, a pattern like 'YYYY-MM-DD HH:mm:ss' (UTC), or relative-s / relative-ms (time since the previous row, as mqtt-recorder writes)."),
    untimed: z.boolean().default(false).describe('Mapped: the rows need no time column (a replay at --rate or --max-speed); without one each row is stamped with the time it is read.'),
    topic: z.string().optional().describe('Mapped: topic template, e.g. plant/{device}/env (default: the topic column).'),
    payloadColumns: z.array(z.string()).optional().describe('Mapped: columns that make the JSON payload (default: all but time and topic ones).'),
    payloadColumn: z.string().optional().describe('Mapped: one column whose text is the payload as is.'),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(0).describe('Mapped: QoS given to every row (unless qosColumn).'),
    retain: z.boolean().default(false).describe('Mapped: retain flag given to every row (unless retainColumn).'),
    qosColumn: z.string().optional().describe('Mapped: the column holding each row\'s QoS (0, 1, 2).'),
    retainColumn: z.string().optional().describe('Mapped: the column holding each row\'s retain flag (1/0, true/false, True/False).'),
    strict: z.boolean().default(false).describe('Stop at the first bad row instead of counting and skipping it.'),
    batchSize: z.number().int().min(1).max(65_536).default(1024).describe('Rows per batch handed on.'),
  })
  .strict()

export type CsvSourceOptions = z.infer<typeof csvSourceOptions>

export const csvSource = defineSource<CsvSourceOptions>({
  type: 'csv',
  summary: 'Reads a CSV file: an iotd capture, or any CSV through a column mapping (streamed, constant memory).',
  options: csvSourceOptions,
  finite: true,
  resumable: true,
  example: {path: 'logger.csv', timeColumn: 'time', timeFormat: 'YYYY-MM-DD HH:mm:ss', topic: 'plant/{device}/env', payloadColumns: ['temp', 'humidity']},
  create: (options, name, env) => new CsvSource(name, {...options, path: options.path === '-' ? '-' : resolve(env.baseDir, options.path)}),
})

/** A row the source refused, as counted in its stats (the first few are kept for the summary). */
export interface BadRow {
  row: number
  reason: string
}

export interface CsvSourceStats {
  rows: number
  records: number
  bad: number
  /** The first BAD_ROWS_KEPT bad rows. */
  badRows: BadRow[]
  /** Reasons with their counts. */
  badReasons: Record<string, number>
}

const BAD_ROWS_KEPT = 20
const RAW_KEPT = 4096
/**
 * Bounds what one row (or an unterminated quote, which makes the rest of the file one field) can make the reader
 * hold: a longer row is one bad row (csv-record-guard.ts).
 */
const MAX_RECORD_BYTES = 64 * 1024 * 1024

/** Longer lines go to csv-parse, which bounds them (MAX_RECORD_BYTES) and says why it refuses one. */
const MAX_FAST_LINE = 1024 * 1024
/** Delimiters the fast path cannot split by. */
const FAST_UNSAFE = ['"', '\r', '\n']
const EMPTY_ROW: string[] = []

type RowReader = (row: string[], rowNumber: number) => PipelineRecord | string

export class CsvSource implements Source {
  /** Bytes read from the file so far and its size (undefined for stdin): progress and ETA by bytes. */
  bytesRead = 0
  readonly totalBytes: number | undefined
  readonly stats: CsvSourceStats = {rows: 0, records: 0, bad: 0, badRows: [], badReasons: {}}
  /** Which shape the file turned out to be (after the first row). */
  shape: 'capture' | 'mapped' | undefined
  private stream: Readable | undefined
  private parser: Parser | undefined
  /** What feeds csv-parse once the fast path has handed over. */
  private feeder: Readable | undefined

  constructor(
    readonly name: string,
    private readonly options: CsvSourceOptions,
    private readonly stdin: Readable = process.stdin,
    /** Who sets the options, for the words of a message: iotd replay's flags or a pipeline file's keys. */
    private readonly setBy: 'flags' | 'keys' = 'keys',
  ) {
    this.totalBytes = options.path === '-' ? undefined : statSize(options.path)
  }

  async *read(ctx: StageContext): AsyncIterable<Delivery> {
    for await (const batch of this.readBatches(ctx)) yield* batch
  }

  async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
    const o = this.options
    // A binary file (an image, a gzip'd capture) is said so at the byte that shows it, before any of it is read as
    // rows or quoted in a message.
    const start = o.path === '-' ? undefined : fileStart(o.path)
    const binary = start && notTextFault(o.path, start, "a CSV text file (iotd's capture format or columns to map)")
    if (binary) throw new ConfigError([binary])
    const delimiter = o.delimiter ?? (start === undefined ? ',' : detectDelimiter(firstLine(start)))
    const stream = o.path === '-' ? this.stdin : createReadStream(o.path, {highWaterMark: 256 * 1024})
    this.stream = stream
    let pendingError: Error | undefined
    stream.once('error', (err: NodeJS.ErrnoException) => {
      pendingError = new IotdError(`cannot read ${o.path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, EXIT_CODES.runtime)
      this.parser?.end()
    })
    const onAbort = () => this.destroyStreams()
    ctx.signal.addEventListener('abort', onAbort, {once: true})

    let reader: RowReader | undefined
    const take = (row: string[], batch: Delivery[]): void => {
      const rowNumber = ++this.stats.rows
      if (!reader) {
        reader = this.makeReader(row)
        if (o.header) return
      }
      const made = reader(row, rowNumber)
      if (typeof made === 'string') {
        this.bad(ctx, rowNumber, made, row.join(delimiter))
        return
      }
      this.stats.records++
      batch.push({record: made, ack: NOOP_ACK})
    }

    // Fast path: whole lines split by splitCsvLine, batch by batch. The first line it cannot vouch for hands that
    // line and everything after it to csv-parse (below), so odd files read exactly as csv-parse reads them.
    const decoder = new StringDecoder('utf8')
    let rest: string | undefined = FAST_UNSAFE.includes(delimiter) ? '' : undefined
    let carry = ''
    let eof = false
    let first = true
    /** Line ends as csv-parse would have detected them: known once the first line is read by the fast path. */
    let crlf: boolean | undefined
    try {
      while (rest === undefined && !ctx.signal.aborted) {
        const chunk = await nextChunk(stream, ctx.signal)
        if (pendingError) throw pendingError
        let text: string
        if (chunk === null) {
          eof = true
          text = carry + decoder.end()
        } else {
          this.bytesRead += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
          text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk))
        }
        if (first && text.length > 0) {
          first = false
          if (text.charCodeAt(0) === 0xfe_ff) text = text.slice(1)
        }
        let batch: Delivery[] = []
        let pos = 0
        // Where the next quote and CR are: the lines before both (in LF files) are split without a look at each.
        let nextQuote = -1
        let nextCr = -1
        for (;;) {
          const nl = text.indexOf('\n', pos)
          if (nl < 0 && (!eof || pos >= text.length)) break
          const end = nl < 0 ? text.length : nl
          if (nextQuote >= 0 && nextQuote < pos) nextQuote = -1
          if (nextQuote === -1) nextQuote = indexOrEnd(text, '"', pos)
          if (nextCr >= 0 && nextCr < pos) nextCr = -1
          if (nextCr === -1) nextCr = indexOrEnd(text, '\r', pos)
          if (crlf === false && nextQuote > end && nextCr > end && end > pos && end - pos <= MAX_FAST_LINE) {
            take(splitPlain(text, pos, end, delimiter), batch)
            pos = end + 1
            if (batch.length >= o.batchSize) {
              yield batch
              batch = []
            }
            continue
          }
          let lineEnd = end
          let row: string[] | undefined
          // Under CRLF line ends a bare LF is not a line end to csv-parse: such a line is csv-parse's to read.
          const cr = end > pos && text.charCodeAt(end - 1) === 13
          if (nl >= 0 && cr && crlf !== false) lineEnd--
          if (nl >= 0 && crlf === true && !cr) row = undefined
          else if (lineEnd - pos > MAX_FAST_LINE) row = undefined
          else if (lineEnd === pos) row = EMPTY_ROW
          else row = splitCsvLine(text, delimiter, pos, lineEnd, nextCr)
          if (row === undefined) {
            rest = text.slice(pos)
            break
          }
          if (crlf === undefined && nl >= 0) crlf = text.charCodeAt(nl - 1) === 13
          if (nl < 0 && row !== EMPTY_ROW && (reader !== undefined || !o.header)) {
            // The file's last row has no line end: a file cut short ends this way, and its row would be read as
            // if it were whole (a payload cut right after a quote reads as a shorter, valid field).
            this.bad(ctx, ++this.stats.rows, UNTERMINATED_ROW, text.slice(pos, end))
          } else if (row !== EMPTY_ROW) take(row, batch)
          pos = end + 1
          if (batch.length >= o.batchSize) {
            yield batch
            batch = []
          }
        }
        if (batch.length > 0) yield batch
        if (eof) break
        if (rest === undefined) {
          carry = text.slice(pos)
          if (carry.length > MAX_FAST_LINE) rest = carry
        }
      }
      if (pendingError) throw pendingError
      if (rest === undefined || ctx.signal.aborted) return
      yield* this.readParsed(ctx, {stream, decoder, rest, eof, delimiter, crlf, take, error: () => pendingError})
    } finally {
      ctx.signal.removeEventListener('abort', onAbort)
      this.destroyStreams()
    }
  }

  /** The csv-parse path: `rest` (the text the fast path stopped at) and the rest of the stream. */
  private async *readParsed(
    ctx: StageContext,
    f: {stream: Readable; decoder: StringDecoder; rest: string; eof: boolean; delimiter: string; crlf: boolean | undefined; take: (row: string[], batch: Delivery[]) => void; error: () => Error | undefined},
  ): AsyncIterable<readonly Delivery[]> {
    const o = this.options
    const skipped: Array<{row: number; reason: string; raw?: string}> = []
    // The last record is held back until the input ends: when the input has no final line end, and no skipped
    // record came after it, it is the cut-short last row (see UNTERMINATED_ROW).
    let held: {delivery: Delivery; row: number; raw: string} | undefined
    let recordsRead = 0
    let lastSkipAfter = -1
    // csv-parse counts records from where it starts; the fast path read `offset` before it.
    const offset = this.stats.rows
    const parser = parse({
      delimiter: f.delimiter,
      bom: true,
      relax_quotes: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      // Never reached (the guard counts every byte of a record, csv-parse fewer); kept as a bound all the same.
      max_record_size: MAX_RECORD_BYTES,
      ...(f.crlf === undefined ? {} : {record_delimiter: f.crlf ? '\r\n' : '\n'}),
      on_skip: (err: CsvError | undefined, raw: string | undefined) => {
        if (err?.records !== undefined) lastSkipAfter = Math.max(lastSkipAfter, Number(err.records))
        skipped.push({row: (err?.records === undefined ? this.stats.rows : offset + Number(err.records)) + 1, reason: err ? csvErrorReason(err) : 'unreadable row', raw})
        return undefined
      },
    })
    this.parser = parser
    const {stream, decoder} = f
    const counted = (n: number) => (this.bytesRead += n)
    // csv-parse gets whole records only; one longer than MAX_RECORD_BYTES comes as a line holding the marker.
    const guard = new CsvRecordGuard(f.delimiter, f.crlf === undefined ? undefined : f.crlf ? '\r\n' : '\n', MAX_RECORD_BYTES, oversizedMarker(f.delimiter))
    let lastText = ''
    async function* feed(): AsyncIterable<string> {
      const whole = (text: string) => guard.push(text)
      if (f.rest !== '') {
        const out = whole(f.rest)
        if (out !== '') yield (lastText = out)
      }
      if (!f.eof) {
        for (;;) {
          const chunk = await nextChunk(stream, ctx.signal)
          if (chunk === null) break
          counted(typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length)
          const text = whole(typeof chunk === 'string' ? chunk : decoder.write(chunk))
          if (text !== '') yield (lastText = text)
        }
        const tail = whole(decoder.end())
        if (tail !== '') yield (lastText = tail)
      }
      const rest = guard.end()
      if (rest !== '') yield (lastText = rest)
    }
    const feeder = Readable.from(feed())
    this.feeder = feeder
    let pendingError: Error | undefined
    parser.once('error', (err) => (pendingError ??= err))
    feeder.pipe(parser)
    let ended = false
    parser.once('end', () => (ended = true))
    while (!ctx.signal.aborted) {
      const batch: Delivery[] = []
      let row: string[] | null
      while (batch.length < o.batchSize && (row = parser.read() as string[] | null) !== null) {
        recordsRead++
        if (row.length === 1 && row[0] === guard.marker) {
          // A record the guard kept from csv-parse: one bad row, in its place among the others.
          if (held) batch.push(held.delivery)
          held = undefined
          this.bad(ctx, ++this.stats.rows, OVERSIZED_ROW, guard.takeRaw())
          continue
        }
        const one: Delivery[] = []
        f.take(row, one)
        if (held) batch.push(held.delivery)
        held = one.length === 1 ? {delivery: one[0], row: this.stats.rows, raw: row.join(f.delimiter)} : undefined
      }
      for (const s of skipped.splice(0)) {
        this.stats.rows++
        this.bad(ctx, s.row, s.reason, s.raw)
      }
      if (batch.length > 0) yield batch
      else {
        pendingError ??= f.error()
        if (pendingError) throw pendingError
        if (ended || parser.readableEnded) {
          const last = held
          held = undefined
          if (last && !lastText.endsWith('\n') && lastSkipAfter < recordsRead) {
            this.stats.records--
            this.bad(ctx, last.row, UNTERMINATED_ROW, last.raw)
          } else if (last) {
            yield [last.delivery]
          }
          break
        }
        await new Promise<void>((resolve) => {
          const wake = () => {
            parser.off('readable', wake)
            parser.off('end', wake)
            parser.off('error', wake)
            ctx.signal.removeEventListener('abort', wake)
            resolve()
          }
          parser.once('readable', wake)
          parser.once('end', wake)
          parser.once('error', wake)
          ctx.signal.addEventListener('abort', wake, {once: true})
        })
      }
    }
    pendingError ??= f.error()
    if (pendingError) throw pendingError
  }

  async close(): Promise<void> {
    this.destroyStreams()
  }

  private destroyStreams(): void {
    if (this.stream && this.stream !== this.stdin) this.stream.destroy()
    this.feeder?.unpipe(this.parser)
    this.feeder?.destroy()
    this.parser?.destroy()
  }

  private bad(ctx: StageContext, row: number, reason: string, raw: string | undefined): void {
    const s = this.stats
    s.bad++
    s.badReasons[reasonKey(reason)] = (s.badReasons[reasonKey(reason)] ?? 0) + 1
    if (s.badRows.length < BAD_ROWS_KEPT) s.badRows.push({row, reason})
    const where = `${this.options.path === '-' ? 'stdin' : this.options.path} row ${row}`
    if (this.options.strict) throw new IotdError(`${where}: ${reason} (stopped by --strict)`, EXIT_CODES.runtime)
    ctx.deadLetter({stage: `source:${this.name}`, reason: `${where}: ${reason}`, raw: raw === undefined ? undefined : raw.length > RAW_KEPT ? `${raw.slice(0, RAW_KEPT)}…` : raw, at: Date.now()})
  }

  /** An option as the user sets it (replay's flags, or the keys of a pipeline's csv source), so a message says what to type. */
  private says(flags: string, keys: string): string {
    return this.setBy === 'flags' ? flags : `${keys} in source ${this.name}`
  }

  /** Decides the file's shape from its first row (the header, or the first data row without one). */
  private makeReader(first: string[]): RowReader {
    const o = this.options
    const names = o.header ? first.map((h) => h.trim()) : (o.columns ?? first.map((_, i) => String(i + 1)))
    const layout: CaptureLayout | undefined = o.header ? captureLayoutOf(names) : o.format === 'capture' || (o.format === 'auto' && typeof parseCaptureRow(first, DEFAULT_CAPTURE_LAYOUT) !== 'string') ? DEFAULT_CAPTURE_LAYOUT : undefined
    const capture = o.format === 'capture' || (o.format === 'auto' && layout !== undefined && o.payloadColumns === undefined && o.payloadColumn === undefined && o.topic === undefined)
    if (capture) {
      if (!layout) throw new IotdError(`${o.path}: the header (${clip(names.join(','), 80)}) is not iotd's capture format (ts,topic,qos,retain,encoding,payload)`, EXIT_CODES.usage, [`map the columns: ${this.says('--time-column, --topic, --payload-columns', 'timeColumn, topic, payloadColumns')}`])
      this.shape = 'capture'
      return this.captureReader(layout)
    }
    this.shape = 'mapped'
    return this.mappedReader(names)
  }

  private captureReader(layout: CaptureLayout): RowReader {
    const source = this.name
    const file = this.options.path
    return (row, rowNumber) => {
      const m = parseCaptureRow(row, layout)
      if (typeof m === 'string') return m
      const record: PipelineRecord = {
        ts: m.tsMs,
        topic: m.topic,
        payload: m.payload,
        meta: new RowMeta(source, m.topic, m.qos, m.retain, file, rowNumber),
      }
      if (m.properties) record.meta.properties = m.properties
      return record
    }
  }

  private mappedReader(names: string[]): RowReader {
    const o = this.options
    const index = (name: string) => names.indexOf(name)
    const usage = (message: string) => new IotdError(`${o.path}: ${message}`, EXIT_CODES.usage)
    const timeName = o.timeColumn ?? names.find((n) => TIME_COLUMN_NAMES.includes(n.toLowerCase()))
    if (timeName === undefined && !o.untimed) throw usage(`no time column (name it with ${this.says('--time-column, or replay with --max-speed or --rate', 'timeColumn, or set untimed: true')}; columns: ${clip(names.join(','), 80)})`)
    const timeIdx = timeName === undefined ? -1 : index(timeName)
    if (timeName !== undefined && timeIdx < 0) throw usage(`no column "${timeName}" (columns: ${clip(names.join(','), 80)})`)
    const columnOf = (flag: string, name: string | undefined): number => {
      if (name === undefined) return -1
      const i = index(name)
      if (i < 0) throw usage(`no ${flag} column "${name}" (columns: ${clip(names.join(','), 80)})`)
      return i
    }
    const qosIdx = columnOf('qos', o.qosColumn)
    const retainIdx = columnOf('retain', o.retainColumn)
    const topicSpec = o.topic ?? (index('topic') >= 0 ? '{topic}' : undefined)
    if (topicSpec === undefined) throw usage(`no topic column: give a template such as ${this.says('--topic "plant/{device}/env"', 'topic: "plant/{device}/env"')} (columns: ${clip(names.join(','), 80)})`)
    let topicOf: (row: readonly string[]) => string | undefined
    try {
      topicOf = topicTemplate(topicSpec, index)
    } catch (error) {
      throw usage((error as Error).message)
    }
    let parseTime: TimeParser | undefined
    // relative-s / relative-ms: each cell is the time since the previous row; the times are their running sum.
    const relative = /^relative-(s|ms)$/.exec(o.timeFormat)
    let elapsed = 0
    const timeOf = relative
      ? (cell: string): number => {
          const step = Number(cell.trim() === '' ? Number.NaN : cell) * (relative[1] === 's' ? 1000 : 1)
          if (!Number.isFinite(step) || step < 0) return Number.NaN
          return (elapsed += step)
        }
      : (cell: string): number => {
          parseTime ??= timeParser(o.timeFormat === 'auto' ? guessTimeFormat(cell) : o.timeFormat)
          return parseTime(cell)
        }
    if (o.timeFormat !== 'auto' && !relative) {
      try {
        parseTime = timeParser(o.timeFormat)
      } catch (error) {
        throw usage((error as Error).message)
      }
    }
    const source = this.name
    const file = o.path
    const width = names.length
    // What every mapped row needs before its payload: the width, the time, the topic, QoS and retain, read into
    // `head` (one object for all rows) or refused with the reason.
    const head: {ts: number; topic: string; qos: 0 | 1 | 2; retain: boolean} = {ts: 0, topic: '', qos: o.qos, retain: o.retain}
    const refusal = (row: string[]): string | undefined => {
      if (row.length !== width) return `expected ${width} columns, found ${row.length}`
      head.ts = timeIdx < 0 ? Date.now() : timeOf(row[timeIdx])
      if (!Number.isFinite(head.ts)) return `bad timestamp "${clip(row[timeIdx])}" in column ${timeName}`
      const topic = topicOf(row)
      if (topic === undefined) return `cannot make a topic from "${topicSpec}" (an empty cell, or one with + or #)`
      head.topic = topic
      if (qosIdx >= 0) {
        const q = row[qosIdx].trim()
        if (q !== '0' && q !== '1' && q !== '2') return `bad qos "${clip(row[qosIdx])}" in column ${o.qosColumn} (0, 1 or 2)`
        head.qos = Number(q) as 0 | 1 | 2
      }
      if (retainIdx >= 0) {
        const r = retainFlag(row[retainIdx])
        if (r === undefined) return `bad retain "${clip(row[retainIdx])}" in column ${o.retainColumn} (1/0 or true/false)`
        head.retain = r
      }
      return undefined
    }
    if (o.payloadColumn !== undefined) {
      const idx = index(o.payloadColumn)
      if (idx < 0) throw usage(`no payload column "${o.payloadColumn}"`)
      return (row, rowNumber) => {
        const refused = refusal(row)
        if (refused !== undefined) return refused
        const {ts, topic, qos, retain} = head
        return {ts, topic, payload: Buffer.from(row[idx] ?? '', 'utf8'), fields: row[idx], meta: new RowMeta(source, topic, qos, retain, file, rowNumber)}
      }
    }
    const used = new Set([timeName, o.qosColumn, o.retainColumn, ...templateColumns(topicSpec)])
    const cols = o.payloadColumns ?? names.filter((n) => !used.has(n))
    const idxs = cols.map((c) => {
      const i = index(c)
      if (i < 0) throw usage(`no payload column "${c}" (columns: ${clip(names.join(','), 80)})`)
      return i
    })
    return (row, rowNumber) => {
      const refused = refusal(row)
      if (refused !== undefined) return refused
      const fields: Record<string, unknown> = {}
      for (let k = 0; k < cols.length; k++) {
        const cell = row[idxs[k]] ?? ''
        // A plain decimal is what cellValue makes of it too, only faster; every other cell goes to cellValue.
        fields[cols[k]] = plainDecimal(cell) ?? cellValue(cell)
      }
      return new MappedRecord(head.ts, head.topic, fields, new RowMeta(source, head.topic, head.qos, head.retain, file, rowNumber))
    }
  }
}

/** A row's meta; its `position` text is made only when something reports it (a dead letter, an error). */
class RowMeta implements RecordMeta {
  declare properties?: Record<string, unknown>
  readonly #file: string
  readonly #row: number
  constructor(
    public source: string,
    public topic: string,
    public qos: 0 | 1 | 2,
    public retain: boolean,
    file: string,
    row: number,
  ) {
    this.#file = file
    this.#row = row
  }

  get position(): string {
    return `${this.#file} row ${this.#row}`
  }
}

/**
 * A mapped row's record. Its payload (the fields as JSON) is made the first time something asks for the bytes: a
 * rule reads the fields, and most runs never need the JSON (it was a third of the CSV source's CPU time).
 */
class MappedRecord implements PipelineRecord {
  private bytes: Buffer | undefined
  constructor(
    public ts: number,
    public topic: string,
    public fields: Record<string, unknown>,
    public meta: RecordMeta,
  ) {}

  get payload(): Buffer {
    return (this.bytes ??= Buffer.from(JSON.stringify(this.fields)))
  }

  set payload(bytes: Buffer) {
    this.bytes = bytes
  }
}

/** A retain cell: 1/0, true/false in any case (Python's csv writes True/False); undefined for anything else. */
function retainFlag(cell: string): boolean | undefined {
  const v = cell.trim().toLowerCase()
  return v === '1' || v === 'true' ? true : v === '0' || v === 'false' ? false : undefined
}

/** `auto`: digits are epoch s, ms or µs by size (as the capture format's rule); anything else ISO-8601. */
export function guessTimeFormat(cell: string): string {
  const s = cell.trim()
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s)
    return n >= 1e14 ? 'epoch-us' : n >= 1e11 ? 'epoch-ms' : 'epoch-s'
  }
  if (/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}$/.test(s)) return 'iso'
  return 'iso'
}

const OVERSIZED_ROW = `a row longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB`

/** A line no file holds: NUL, a random id and NUL, without the file's delimiter. */
function oversizedMarker(delimiter: string): string {
  const id = `iotd-oversized-row-${randomUUID()}`.replaceAll(delimiter, '')
  return delimiter === '\u0000' ? `\u0001${id}\u0001` : `\u0000${id}\u0000`
}

/** Why the last row of a file without a final line end is refused rather than read as if it were whole. */
export const UNTERMINATED_ROW = 'the last row has no line end (the file may be cut short; end it with a newline if the row is whole)'

function csvErrorReason(err: CsvError): string {
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field is never closed'
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a quote ends a field in its middle'
    case 'CSV_MAX_RECORD_SIZE':
      return OVERSIZED_ROW
    default:
      return err.message.replace(/^Invalid Record Length: /, '')
  }
}

/** "expected 6 columns, found 5" and "expected 6 columns, found 7" count together; timestamps by kind. */
function reasonKey(reason: string): string {
  if (reason === UNTERMINATED_ROW) return 'last row has no line end'
  if (reason.startsWith('expected ')) return 'wrong column count'
  if (reason.startsWith('bad timestamp')) return 'bad timestamp'
  return reason.replace(/"[^"]*"/g, '…')
}

/** indexOf, with "not there" as past the end (so one comparison tells a line is free of it). */
function indexOrEnd(text: string, what: string, from: number): number {
  const i = text.indexOf(what, from)
  return i < 0 ? text.length + 1 : i
}

/** The fields of text[start, end), a line with no quote and no CR. */
function splitPlain(text: string, start: number, end: number, delimiter: string): string[] {
  const row: string[] = []
  for (let a = start; ; ) {
    const e = text.indexOf(delimiter, a)
    if (e < 0 || e >= end) {
      row.push(text.slice(a, end))
      return row
    }
    row.push(text.slice(a, e))
    a = e + 1
  }
}

/** The next chunk of a paused stream, or null at its end, on an error, or when the run is aborted. */
async function nextChunk(stream: Readable, signal: AbortSignal): Promise<Buffer | string | null> {
  for (;;) {
    const chunk = stream.read() as Buffer | string | null
    if (chunk !== null) return chunk
    if (stream.readableEnded || stream.destroyed || stream.errored || signal.aborted) return null
    await new Promise<void>((resolve) => {
      const wake = () => {
        stream.off('readable', wake)
        stream.off('end', wake)
        stream.off('close', wake)
        stream.off('error', wake)
        signal.removeEventListener('abort', wake)
        resolve()
      }
      stream.on('readable', wake)
      stream.on('end', wake)
      stream.on('close', wake)
      stream.on('error', wake)
      signal.addEventListener('abort', wake, {once: true})
    })
  }
}

function statSize(path: string): number | undefined {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}

/** The first 64 KiB of a file; empty when it cannot be read (the stream then says why). */
function fileStart(path: string): Buffer {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buf = Buffer.alloc(65_536)
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0))
  } catch {
    return Buffer.alloc(0)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/** The first line of a file's start, without a BOM, for delimiter detection. */
function firstLine(start: Buffer): string {
  const text = start.toString('utf8').replace(/^\uFEFF/, '')
  const nl = text.search(/\r?\n/)
  return nl < 0 ? text : text.slice(0, nl)
}
