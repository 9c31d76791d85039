/**
 * A row longer than the reader's bound (64 MiB) is one bad row, counted once with its row number, and the reading
 * goes on at the next row. Before, csv-parse's on_skip fired once per chunk of the one record and dropped the rest
 * of each chunk: a 100 MB payload was "127 rows, 127 skipped" and swallowed the valid row after it.
 * The files are streamed to disk (nothing here holds 66 MiB in one string).
 */
import {closeSync, mkdtempSync, openSync, rmSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {parse as parseSync} from 'csv-parse/sync'
import {CsvSource, csvSourceOptions} from '../../../src/pipeline/sources/csv.js'
import {CsvRecordGuard} from '../../../src/pipeline/sources/csv-record-guard.js'
import {toolContext} from '../../../src/tools/context.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-oversized-csv-'))
afterAll(() => rmSync(work, {recursive: true, force: true}))
const HEADER = 'ts,topic,qos,retain,encoding,payload\n'
const MiB = 1024 * 1024
/** The csv source's csv-parse options. */
const OPTIONS = {bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true}

/** head, then `mib` MiB of x, then tail, written a MiB at a time. */
function writeBig(name: string, head: string, mib: number, tail: string): string {
  const path = join(work, name)
  const fd = openSync(path, 'w')
  const chunk = Buffer.alloc(MiB, 'x')
  writeSync(fd, head)
  for (let i = 0; i < mib; i++) writeSync(fd, chunk)
  writeSync(fd, tail)
  closeSync(fd)
  return path
}

async function read(path: string, extra: Record<string, unknown> = {}) {
  const source = new CsvSource('t', csvSourceOptions.parse({path, ...extra}))
  const ctx = toolContext(new AbortController().signal)
  const topics: string[] = []
  for await (const batch of source.readBatches(ctx)) for (const d of batch) topics.push(d.record.topic ?? '')
  return {topics, stats: source.stats, deadLetters: ctx.firstDeadLetters}
}

describe('csv source: a row longer than 64 MiB', () => {
  it('a quoted 66 MiB payload is one bad row (row 2) and the valid row after it is read', async () => {
    const path = writeBig('quoted.csv', `${HEADER}1767225600000000,a/big,0,0,utf8,"`, 66, '"\n1767225600001000,a/ok,0,0,utf8,fine\n')
    const got = await read(path)
    expect(got.topics).toEqual(['a/ok'])
    expect(got.stats.rows).toBe(3)
    expect(got.stats.records).toBe(1)
    expect(got.stats.bad).toBe(1)
    expect(got.stats.badRows).toEqual([{row: 2, reason: 'a row longer than 64 MiB'}])
    expect(got.stats.badReasons).toEqual({'a row longer than 64 MiB': 1})
    // What the dead letter keeps of the row is bounded.
    expect(got.deadLetters[0].raw?.length ?? 0).toBeLessThanOrEqual(4096 + 16)
  }, 60_000)

  it('an unquoted 66 MiB line the same, and rows before and after it keep their numbers', async () => {
    const path = writeBig('plain.csv', `${HEADER}1767225600000000,a/one,0,0,utf8,one\n1767225600000500,a/big,0,0,utf8,`, 66, '\n1767225600001000,a/two,0,0,utf8,two\n1767225600002000,a/three,0,0,utf8,"three"\n')
    const got = await read(path)
    expect(got.topics).toEqual(['a/one', 'a/two', 'a/three'])
    expect(got.stats.badRows).toEqual([{row: 3, reason: 'a row longer than 64 MiB'}])
    expect(got.stats.rows).toBe(5)
  }, 60_000)

  it('a quoted oversized field holding line ends and escaped quotes is still one row', async () => {
    const path = writeBig('lines.csv', `${HEADER}1767225600000000,a/big,0,0,utf8,"a\n""b""\n`, 65, '\nend"\n1767225600001000,a/ok,0,0,utf8,fine\n')
    const got = await read(path)
    expect(got.topics).toEqual(['a/ok'])
    expect(got.stats.badRows).toEqual([{row: 2, reason: 'a row longer than 64 MiB'}])
  }, 60_000)

  it('--strict stops at it with the row number', async () => {
    const path = writeBig('strict.csv', `${HEADER}1767225600000000,a/big,0,0,utf8,"`, 65, '"\n1767225600001000,a/ok,0,0,utf8,fine\n')
    await expect(read(path, {strict: true})).rejects.toThrow(/row 2: a row longer than 64 MiB \(stopped by --strict\)/)
  }, 60_000)
})

describe('csv record guard: whole records, read as csv-parse reads them', () => {
  const cases = [
    'a,b\n1,2\n',
    'a,b\r\n"x\r\ny",2\r\n3,4',
    'a,b\r1,2\r"q""r",3\r',
    'a,"b"c,d\n"e""",f\n',
    'a,b\r\nx\ny,2\r\n',
    'x,ab"c\n"un,closed\n',
    '"",""""\n,\n\n\nz',
  ]
  it.each(cases)('%j in any chunking parses as the whole text does', (text) => {
    const whole = parseSync(text, OPTIONS)
    for (let size = 1; size <= text.length; size++) {
      const guard = new CsvRecordGuard(',', undefined, 1 << 20, '\u0000m\u0000')
      const pieces: string[] = []
      for (let i = 0; i < text.length; i += size) pieces.push(guard.push(text.slice(i, i + size)))
      pieces.push(guard.end())
      expect(pieces.join('')).toBe(text)
      // Each piece is whole records: parsed on its own (with the file's line ends), the pieces give the records of
      // the whole text.
      const ends = {record_delimiter: text.includes('\r\n') ? '\r\n' : text.includes('\r') ? '\r' : '\n'}
      expect(pieces.filter((p) => p !== '').flatMap((p) => parseSync(p, {...OPTIONS, ...ends}) as string[][])).toEqual(whole)
    }
  })

  it('a record over the bound becomes one marker line, its start kept; the records around it pass whole', () => {
    const guard = new CsvRecordGuard(',', undefined, 8, 'M', 4)
    const out = ['a,1\n"0123', '456789\n",x', 'y\n', 'b,2\n'].map((c) => guard.push(c)).join('') + guard.end()
    expect(out).toBe('a,1\nM\nb,2\n')
    expect(guard.takeRaw()).toBe('"012')
  })
})
