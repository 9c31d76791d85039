/**
 * #13 item 17: the last row of a file without a final line end is the row of a file cut short. It is refused and
 * counted with its row number (a payload cut right after a quote reads as a shorter, valid field), on the source's
 * fast path and on the csv-parse path alike; a whole file, or one cut inside a quoted field, reads as before.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {CsvSource, csvSourceOptions, UNTERMINATED_ROW} from '../../../src/pipeline/sources/csv.js'
import {toolContext} from '../../../src/tools/context.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-loud-csv-'))
const HEADER = 'ts,topic,qos,retain,encoding,payload\n'

async function read(text: string, name: string) {
  const path = join(work, name)
  writeFileSync(path, text)
  const source = new CsvSource('t', csvSourceOptions.parse({path}))
  const payloads: string[] = []
  for await (const batch of source.readBatches(toolContext(new AbortController().signal))) {
    for (const d of batch) payloads.push(d.record.payload?.toString('utf8') ?? '')
  }
  return {payloads, stats: source.stats}
}

describe('csv source: a last row without a line end', () => {
  it('is refused on the fast path (plain lines), with its row number', async () => {
    const got = await read(`${HEADER}1767225600000,a/b,0,0,utf8,one\n1767225600100,a/b,0,0,utf8,{"x":2`, 'plain.csv')
    expect(got.payloads).toEqual(['one'])
    expect(got.stats.records).toBe(1)
    expect(got.stats.bad).toBe(1)
    expect(got.stats.badRows).toEqual([{row: 3, reason: UNTERMINATED_ROW}])
  })

  it('is refused when the file is cut right after a quote ("{" would otherwise replay `{`)', async () => {
    const got = await read(`${HEADER}1767225600000,a/b,0,0,utf8,"{""x"":1}"\n1767225600100,a/b,0,0,utf8,"{"`, 'quote.csv')
    expect(got.payloads).toEqual(['{"x":1}'])
    expect(got.stats.badRows).toEqual([{row: 3, reason: UNTERMINATED_ROW}])
  })

  it('is refused on the csv-parse path too (an odd line earlier hands the rest of the file to csv-parse)', async () => {
    const text = `${HEADER}1767225600000,a/b,0,0,utf8,"two\nlines"\n1767225600100,a/b,0,0,utf8,ab"c\n1767225600200,a/b,0,0,utf8,"{"`
    const got = await read(text, 'parsed.csv')
    expect(got.payloads).toEqual(['two\nlines', 'ab"c'])
    expect(got.stats.records).toBe(2)
    expect(got.stats.badRows).toEqual([{row: 4, reason: UNTERMINATED_ROW}])
  })

  it('a whole file reads every row; a file cut inside a quoted field has that row refused once, as never closed', async () => {
    const whole = await read(`${HEADER}1767225600000,a/b,0,0,utf8,"two\nlines"\n1767225600100,a/b,0,0,utf8,x\n`, 'whole.csv')
    expect(whole.payloads).toEqual(['two\nlines', 'x'])
    expect(whole.stats.bad).toBe(0)
    const cut = await read(`${HEADER}1767225600000,a/b,0,0,utf8,x\n1767225600100,a/b,0,0,utf8,"{""x`, 'cut.csv')
    expect(cut.payloads).toEqual(['x'])
    expect(cut.stats.badRows).toEqual([{row: 3, reason: 'a quoted field is never closed'}])
  })
})
