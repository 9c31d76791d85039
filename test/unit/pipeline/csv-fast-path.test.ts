/**
 * The csv source splits plain lines itself and hands the first line it cannot vouch for (and the rest) to
 * csv-parse. These tests hold it to csv-parse's reading: whole files, random mixes of plain, quoted and odd lines,
 * compared row by row with csv-parse run over the whole file.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {describe, expect, it} from 'vitest'
import {DEFAULT_CAPTURE_LAYOUT, captureLayoutOf, parseCaptureRow} from '../../../src/capture/format.js'
import {CsvSource, csvSourceOptions} from '../../../src/pipeline/sources/csv.js'
import {splitCsvLine} from '../../../src/pipeline/sources/csv-mapping.js'
import {toolContext} from '../../../src/tools/context.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-csv-fast-'))

const CSV_PARSE_OPTIONS = {bom: true, relax_quotes: true, relax_column_count: true, skip_empty_lines: true, skip_records_with_error: true}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d_2b_79_f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

async function viaSource(text: string, name: string) {
  const path = join(work, name)
  writeFileSync(path, text)
  const source = new CsvSource('t', csvSourceOptions.parse({path}))
  const ctx = toolContext(new AbortController().signal)
  const out: string[] = []
  for await (const batch of source.readBatches(ctx)) for (const d of batch) out.push(`${d.record.meta.position?.replace(/^.* row /, 'row ')} ${d.record.topic} ${d.record.payload?.toString('utf8')}`)
  return {out, bad: source.stats.bad, rows: source.stats.rows}
}

/** What csv-parse over the whole file, then the capture rules, make of it. */
function viaCsvParse(text: string) {
  let skipped = 0
  const rows = parse(text, {...CSV_PARSE_OPTIONS, on_skip: () => void skipped++}) as string[][]
  const layout = captureLayoutOf(rows[0].map((h) => h.trim())) ?? DEFAULT_CAPTURE_LAYOUT
  const out: string[] = []
  let bad = skipped
  rows.slice(1).forEach((row, i) => {
    const m = parseCaptureRow(row, layout)
    if (typeof m === 'string') bad++
    else out.push(`row ${i + 2} ${m.topic} ${m.payload.toString('utf8')}`)
  })
  return {out, bad, rows: rows.length + skipped}
}

const PAYLOADS = ['hello', 'h\u00e9llo \u{1F600}', '"{""a"":1,""b"":""x,y""}"', '""', '"x,y"', '"line 1\nline 2"', 'ab"c', '"ab"c', ' "q"', '"a""b"""', '']

function randomCapture(rand: () => number, lines: number): string {
  const eol = rand() < 0.5 ? '\n' : '\r\n'
  let text = (rand() < 0.2 ? '\uFEFF' : '') + `ts,topic,qos,retain,encoding,payload${eol}`
  for (let i = 0; i < lines; i++) {
    const r = rand()
    if (r < 0.05) text += eol
    else {
      const payload = PAYLOADS[Math.floor(rand() * PAYLOADS.length)]
      const odd = rand()
      // Now and then a line end of the other kind, or a row short of a column.
      const end = odd < 0.03 ? (eol === '\n' ? '\r\n' : '\n') : eol
      text += odd > 0.97 ? `${1000 + i},t/${i},0${end}` : `${1000 + i},t/${i},0,0,utf8,${payload}${end}`
    }
  }
  if (rand() < 0.1) text += `${9999},t/last,0,0,utf8,"never closed${eol}9998,t/x,0,0,utf8,y${eol}`
  return text
}

describe('csv fast path', () => {
  it('splitCsvLine agrees with csv-parse on every line it accepts, and refuses what needs csv-parse', () => {
    const rand = rng(7)
    const cells = ['a', '', ' b ', '"q"', '"q,""x"""', '""', '"', 'a"b', '"a"b', '"a" ', '1.5', '"multi', 'x\ry']
    let accepted = 0
    for (let n = 0; n < 3000; n++) {
      const width = 1 + Math.floor(rand() * 5)
      const line = Array.from({length: width}, () => cells[Math.floor(rand() * cells.length)]).join(',')
      // An empty line is skipped before it is split (skip_empty_lines).
      if (line === '') continue
      const row = splitCsvLine(line, ',')
      if (row === undefined) continue
      accepted++
      const reference = parse(line, {...CSV_PARSE_OPTIONS, record_delimiter: '\n'}) as string[][]
      expect(row, line).toEqual(reference[0])
    }
    expect(accepted).toBeGreaterThan(500)
    expect(splitCsvLine('a;"b;c";d', ';')).toEqual(['a', 'b;c', 'd'])
    expect(splitCsvLine('a,"b"x', ',')).toBeUndefined()
    expect(splitCsvLine('a,"open', ',')).toBeUndefined()
    expect(splitCsvLine('a,b"c', ',')).toBeUndefined()
    expect(splitCsvLine('a,b\r', ',')).toBeUndefined()
    // A line inside a larger text: only [start, end) is read.
    expect(splitCsvLine('x\n"a""b",c\ny', ',', 2, 10)).toEqual(['a"b', 'c'])
  })

  it('random capture files read as csv-parse reads them, row numbers included', async () => {
    const rand = rng(42)
    for (let n = 0; n < 150; n++) {
      const text = randomCapture(rand, 1 + Math.floor(rand() * 30))
      const got = await viaSource(text, `r${n}.csv`)
      expect(got, JSON.stringify(text)).toEqual(viaCsvParse(text))
    }
  })

  it('a file larger than one read (multi-byte characters across chunk ends, an odd line late) reads as csv-parse reads it', async () => {
    let text = 'ts,topic,qos,retain,encoding,payload\n'
    for (let i = 0; i < 12_000; i++) text += `${1000 + i},t/${i % 7},0,0,utf8,${i % 3 === 0 ? '"{""v"":' + i + '}"' : `\u00e9\u{1F600}${'x'.repeat(i % 50)}`}\n`
    text += '99,t/odd,0,0,utf8,"two\nlines"\n100,t/after,0,0,utf8,ab"c\n'
    for (let i = 0; i < 3000; i++) text += `${2000 + i},t/${i},0,0,utf8,p${i}\n`
    const got = await viaSource(text, 'big.csv')
    const want = viaCsvParse(text)
    expect(got.out.length).toBe(15_002)
    expect(got).toEqual(want)
  })
})
