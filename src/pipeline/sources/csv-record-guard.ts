/**
 * Stands between the csv source's text and csv-parse, and keeps a row longer than the bound from ever reaching it.
 *
 * csv-parse's own max_record_size does not skip such a row: with skip_records_with_error it reports the error and
 * drops the rest of the chunk it was parsing, then does the same for every later chunk (the record never shrinks),
 * so one 100 MB row was counted 127 times and the valid rows after it were lost. The guard instead finds record
 * boundaries as csv-parse does (quote '"', escaped by doubling, relax_quotes, record delimiter \n, \r\n or \r, found
 * as csv-parse finds it), hands csv-parse only whole records, and replaces a record over the bound by one line
 * holding `marker`, which the reader counts as one bad row with its row number. Memory: the record being read, up to
 * the bound, and the first `rawKept` characters of an oversized one.
 */

const FIELD_START = 0
const UNQUOTED = 1
const QUOTED = 2
/** A quote inside a quoted field: a doubled quote, the field's end, or (relax_quotes) a quote in the text. */
const QUOTE_IN_QUOTED = 3
/** A \r outside quotes, under \r\n or not yet known line ends: the next character decides. */
const CR = 4

const LF = 10
const CRC = 13
const QUOTE = 34

export type RecordDelimiter = '\n' | '\r\n' | '\r'

export class CsvRecordGuard {
  private state = FIELD_START
  /** Bytes (UTF-8) of the record being read. */
  private bytes = 0
  /** The record being read, from earlier chunks (nothing once it is oversized). */
  private held: string[] = []
  private oversized = false
  private rawOfOversized = ''
  private readonly raws: string[] = []

  constructor(
    private readonly delimiter: string,
    private mode: RecordDelimiter | undefined,
    private readonly maxBytes: number,
    readonly marker: string,
    private readonly rawKept = 4096,
  ) {}

  /** The start of each oversized record, in order: one per marker line the reader meets. */
  takeRaw(): string | undefined {
    return this.raws.shift()
  }

  /** The whole records `chunk` completes (marker lines in place of oversized ones); the rest is held. */
  push(chunk: string): string {
    const delim = this.delimiter.charCodeAt(0)
    let out = ''
    let start = 0
    const endRecord = (end: number): void => {
      if (this.oversized) {
        this.raws.push(this.rawOfOversized)
        out += this.marker + (this.mode ?? '\n')
        this.oversized = false
        this.rawOfOversized = ''
      } else {
        if (this.held.length > 0) out += this.held.join('')
        out += chunk.slice(start, end)
      }
      this.held = []
      start = end
      this.bytes = 0
      this.state = FIELD_START
    }
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i)
      let s = this.state
      if (s === CR) {
        if (c === LF) {
          this.mode ??= '\r\n'
          endRecord(i + 1)
          continue
        }
        if (this.mode === undefined) {
          // A lone \r ends records in this file (csv-parse finds the same); this character starts the next one.
          this.mode = '\r'
          endRecord(i)
          s = FIELD_START
        } else s = UNQUOTED
      } else if (s === QUOTE_IN_QUOTED) {
        if (c === QUOTE) {
          this.state = QUOTED
          this.count(c, chunk, start, i)
          continue
        }
        // The field is closed (a delimiter or line end follows) or, under relax_quotes, the quote is text: either
        // way the character is read as outside quotes.
        s = UNQUOTED
      }
      if (s === QUOTED) {
        this.state = c === QUOTE ? QUOTE_IN_QUOTED : QUOTED
        this.count(c, chunk, start, i)
        continue
      }
      // Outside quotes.
      if (c === LF && this.mode !== '\r\n' && this.mode !== '\r') {
        this.mode ??= '\n'
        endRecord(i + 1)
        continue
      }
      if (c === CRC) {
        if (this.mode === '\r') {
          endRecord(i + 1)
          continue
        }
        if (this.mode !== '\n') {
          this.state = CR
          this.count(c, chunk, start, i)
          continue
        }
      }
      this.state = c === delim ? FIELD_START : s === FIELD_START && c === QUOTE ? QUOTED : UNQUOTED
      this.count(c, chunk, start, i)
    }
    if (!this.oversized && start < chunk.length) this.held.push(chunk.slice(start))
    return out
  }

  /** At the end of the input: what is left (a last record without a line end), or a marker line for it. */
  end(): string {
    if (this.oversized) {
      this.raws.push(this.rawOfOversized)
      this.oversized = false
      return this.marker + (this.mode ?? '\n')
    }
    const rest = this.held.join('')
    this.held = []
    return rest
  }

  /** Counts character i of chunk into the record; past the bound the record is dropped and only its start kept. */
  private count(c: number, chunk: string, start: number, i: number): void {
    this.bytes += c < 0x80 ? 1 : c < 0x800 || (c >= 0xd8_00 && c < 0xe0_00) ? 2 : 3
    if (this.oversized || this.bytes <= this.maxBytes) return
    this.oversized = true
    let raw = ''
    for (const piece of this.held) {
      raw += piece.slice(0, this.rawKept - raw.length)
      if (raw.length >= this.rawKept) break
    }
    if (raw.length < this.rawKept) raw += chunk.slice(start, Math.min(i + 1, start + this.rawKept - raw.length))
    this.rawOfOversized = raw
    this.held = []
  }
}
