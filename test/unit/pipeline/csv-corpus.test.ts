/**
 * The odd-CSV corpus (test/fixtures/csv): each file gives the behaviour docs/capture-format.md promises for it.
 * Bad rows are counted with their row numbers (the header is row 1) and dead-lettered; nothing throws unless
 * `strict` asks for it.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {CsvSource, csvSourceOptions, type CsvSourceOptions} from '../../../src/pipeline/sources/csv.js'
import {ReplayClock} from '../../../src/tools/replay-clock.js'
import {toolContext} from '../../../src/tools/context.js'
import type {PipelineRecord} from '../../../src/pipeline/types.js'

const DIR = fileURLToPath(new URL('../../fixtures/csv/', import.meta.url))

async function readAll(file: string, options: Partial<CsvSourceOptions> = {}) {
  const source = new CsvSource('t', csvSourceOptions.parse({path: file.startsWith('/') ? file : join(DIR, file), ...options}))
  const ctx = toolContext(new AbortController().signal)
  const records: PipelineRecord[] = []
  for await (const batch of source.readBatches(ctx)) for (const d of batch) records.push(d.record)
  return {records, stats: source.stats, deadLetters: ctx.firstDeadLetters, shape: source.shape}
}

const text = (r: PipelineRecord) => r.payload?.toString('utf8')

describe('CSV corpus', () => {
  it('capture-ok: three rows with qos, retain, utf8 and base64 payloads', async () => {
    const {records, stats, shape} = await readAll('capture-ok.csv')
    expect(shape).toBe('capture')
    expect(stats.bad).toBe(0)
    expect(records.map((r) => [r.topic, r.meta.qos, r.meta.retain, r.ts])).toEqual([
      ['plant/a', 0, false, 1767225600000],
      ['plant/b', 1, true, 1767225600010],
      ['plant/c', 2, false, 1767225600025],
    ])
    expect(text(records[0])).toBe('{"t":1}')
    expect(records[2].payload).toEqual(Buffer.from([0, 1, 2, 255]))
    expect(records[1].meta.position).toMatch(/capture-ok\.csv row 3$/)
  })

  it('bom: a UTF-8 BOM before the header is ignored', async () => {
    const {records, shape} = await readAll('bom.csv')
    expect(shape).toBe('capture')
    expect(records.map(text)).toEqual(['x', 'y'])
  })

  it('crlf: CRLF line ends leave no CR in payloads', async () => {
    const {records} = await readAll('crlf.csv')
    expect(records.map(text)).toEqual(['x', 'y'])
  })

  it('embedded-newline: a quoted payload keeps its newline and comma', async () => {
    const {records, stats} = await readAll('embedded-newline.csv')
    expect(stats.bad).toBe(0)
    expect(records.map(text)).toEqual(['line 1\nline 2, with comma', 'after'])
  })

  it('doubled-quotes: "" inside a quoted field is one quote', async () => {
    const {records} = await readAll('doubled-quotes.csv')
    expect(JSON.parse(text(records[0])!)).toEqual({s: 'he said "hi"', n: 1})
  })

  it('missing-columns and extra-columns: the row is counted with its number, the rest replays', async () => {
    const missing = await readAll('missing-columns.csv')
    expect(missing.records.map((r) => r.topic)).toEqual(['a', 'c'])
    expect(missing.stats.badRows).toEqual([{row: 3, reason: 'expected 6 columns, found 5'}])
    expect(missing.deadLetters[0].reason).toMatch(/missing-columns\.csv row 3: expected 6 columns, found 5/)
    expect(missing.deadLetters[0].raw).toBe('1767225600001,b,0,0,utf8')
    const extra = await readAll('extra-columns.csv')
    expect(extra.records).toHaveLength(1)
    expect(extra.stats.badRows).toEqual([{row: 3, reason: 'expected 6 columns, found 8'}])
  })

  it('bad-timestamp: words and empty cells are bad timestamps', async () => {
    const {records, stats} = await readAll('bad-timestamp.csv')
    expect(records.map((r) => r.topic)).toEqual(['a', 'd'])
    expect(stats.badRows.map((b) => b.row)).toEqual([3, 4])
    expect(stats.badReasons).toEqual({'bad timestamp': 2})
  })

  it('out-of-order: rows come out in file order; the replay clock sends the early one at once and counts it', async () => {
    const {records, stats} = await readAll('out-of-order.csv')
    expect(stats.bad).toBe(0)
    const clock = new ReplayClock(1, 0)
    const dues = records.map((r) => clock.dueAt(r.ts))
    expect(dues).toEqual([0, 50, 50, 60])
    expect(clock.outOfOrder).toBe(1)
  })

  it('bad-base64: refused, not silently truncated', async () => {
    const {records, stats} = await readAll('bad-base64.csv')
    expect(records.map(text)).toEqual(['hello'])
    expect(stats.badRows).toEqual([{row: 3, reason: 'invalid base64 payload'}])
  })

  it('unclosed-quote: the rows before it replay, the broken rest is one bad row', async () => {
    const {records, stats} = await readAll('unclosed-quote.csv')
    expect(records.map(text)).toEqual(['ok'])
    expect(stats.bad).toBe(1)
    expect(stats.badRows[0].reason).toMatch(/quoted field is never closed/)
  })

  it('empty-lines: blank lines are skipped, not bad', async () => {
    const {records, stats} = await readAll('empty-lines.csv')
    expect(records.map(text)).toEqual(['x', 'y'])
    expect(stats.bad).toBe(0)
  })

  it('header-only and empty files: no rows and no bad row (replay exits 1 on them: e2e capture-outcome)', async () => {
    for (const f of ['header-only.csv', 'empty.csv']) {
      const {records, stats} = await readAll(f)
      expect(records).toHaveLength(0)
      expect(stats.bad).toBe(0)
    }
  })

  it('bad-qos-retain: qos outside 0-2 and unknown retain words are refused; true is accepted', async () => {
    const {records, stats} = await readAll('bad-qos-retain.csv')
    expect(records.map((r) => [r.meta.qos, r.meta.retain])).toEqual([[1, true]])
    expect(stats.badRows.map((b) => b.reason)).toEqual(['bad qos "3" (0, 1 or 2)', 'bad retain "yes" (0 or 1)'])
  })

  it('wildcard-topic: a topic with + or # (or none) cannot be published', async () => {
    const {records, stats} = await readAll('wildcard-topic.csv')
    expect(records.map((r) => r.topic)).toEqual(['plant/ok'])
    expect(stats.badRows.map((b) => b.row)).toEqual([2, 3])
  })

  it('stray-quote: a quote inside an unquoted field is kept as a character', async () => {
    const {records} = await readAll('stray-quote.csv')
    expect(records.map(text)).toEqual(['ab"c'])
  })

  it('microseconds: µs timestamps keep sub-millisecond gaps', async () => {
    const {records} = await readAll('microseconds.csv')
    expect(records[1].ts - records[0].ts).toBeCloseTo(0.5, 6)
  })

  it('properties: MQTT 5 properties come back; an empty cell is none; broken JSON is a bad row', async () => {
    const {records, stats} = await readAll('properties.csv')
    expect(records[0].meta.properties).toEqual({contentType: 'text/plain', userProperties: {k: 'v'}})
    expect(records[1].meta.properties).toBeUndefined()
    expect(stats.badRows).toEqual([{row: 4, reason: 'properties is not valid JSON'}])
  })

  it('logger-semicolon: a foreign CSV by mapping; delimiter detected; bad dates and empty topic parts are bad rows', async () => {
    const {records, stats, shape} = await readAll('logger-semicolon.csv', {timeColumn: 'time', timeFormat: 'YYYY-MM-DD HH:mm:ss', topic: 'plant/{device}/env', payloadColumns: ['temp', 'humidity']})
    expect(shape).toBe('mapped')
    expect(records.map((r) => [r.topic, r.ts, JSON.parse(text(r)!)])).toEqual([
      ['plant/d1/env', Date.UTC(2026, 0, 1, 0, 0, 0), {temp: 21.5, humidity: 40}],
      ['plant/d2/env', Date.UTC(2026, 0, 1, 0, 0, 1), {temp: 22, humidity: 41}],
    ])
    expect(stats.badRows.map((b) => b.row)).toEqual([4, 5])
    expect(stats.badRows[0].reason).toMatch(/bad timestamp/)
    expect(stats.badRows[1].reason).toMatch(/cannot make a topic/)
  })

  it('logger-no-header.tsv: tab-separated without a header, columns named by the option, epoch seconds guessed', async () => {
    const {records} = await readAll('logger-no-header.tsv', {header: false, columns: ['time', 'device', 'temp'], topic: 'd/{device}'})
    expect(records.map((r) => [r.topic, r.ts, r.fields])).toEqual([
      ['d/d1', 1767225600000, {temp: 21.5}],
      ['d/d2', 1767225601000, {temp: 'oops'}],
    ])
  })

  it('logger-epoch-ms: default payload is every column but time and the topic ones', async () => {
    const {records} = await readAll('logger-epoch-ms.csv', {topic: '{site}/{device}'})
    expect(records.map((r) => [r.topic, r.ts, r.fields])).toEqual([
      ['s1/d1', 1767225600000, {temp: 20}],
      ['s1/d2', 1767225600500, {temp: 21}],
      ['s2/d1', 1767225601000, {temp: 'x'}],
    ])
  })

  it('mqtt-recorder: topics with levels from a cell, per-row qos and retain, times since the previous row', async () => {
    const mapping: Partial<CsvSourceOptions> = {header: false, columns: ['topic', 'payload', 'qos', 'retain', 'time', 'delta'], topic: '{topic}', payloadColumn: 'payload', qosColumn: 'qos', retainColumn: 'retain', timeColumn: 'delta', timeFormat: 'relative-s'}
    const {records, stats, shape} = await readAll('mqtt-recorder.csv', mapping)
    expect(shape).toBe('mapped')
    expect(stats.bad).toBe(0)
    expect(records.map((r) => [r.topic, text(r), r.meta.qos, r.meta.retain])).toEqual([
      ['plant/press-01/telemetry', '{"temp": 21.5, "state": "run"}', 1, false],
      ['plant/press-01/status', 'online', 1, true],
      ['plant/press-02/telemetry', '{"temp": 22.0}', 0, false],
      ['sensors/room 1/humidity', '45', 2, false],
    ])
    // The gaps are the file's: 0.2 s, 0.5 s, 0.2 s after the first row.
    expect(records.map((r) => Math.round(r.ts - records[0].ts))).toEqual([0, 200, 700, 900])
    // The absolute receive times give the same gaps.
    const absolute = await readAll('mqtt-recorder.csv', {...mapping, timeColumn: 'time', timeFormat: 'epoch-s'})
    expect(absolute.records.map((r) => Math.round(r.ts - absolute.records[0].ts))).toEqual([0, 200, 700, 900])
  })

  it('mapped qos and retain columns refuse other values; a topic cell may not hold a wildcard', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-csv-'))
    const file = join(dir, 'odd.csv')
    writeFileSync(file, 'ts,topic,qos,retain,v\n1767225600000,a/b,1,yes,1\n1767225600001,a/c,3,0,2\n1767225600002,a/+,0,0,3\n1767225600003,a/d,0,TRUE,4\n')
    const {records, stats} = await readAll(file, {qosColumn: 'qos', retainColumn: 'retain', format: 'mapped'})
    expect(records.map((r) => [r.topic, r.meta.retain, r.fields])).toEqual([['a/d', true, {v: 4}]])
    expect(stats.badRows.map((b) => [b.row, b.reason])).toEqual([
      [2, 'bad retain "yes" in column retain (1/0 or true/false)'],
      [3, 'bad qos "3" in column qos (0, 1 or 2)'],
      [4, 'cannot make a topic from "{topic}" (an empty cell, or one with + or #)'],
    ])
  })

  it('untimed: a mapped file without a time column reads when the replay does not need times, and is refused otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-csv-'))
    const file = join(dir, 'untimed.csv')
    writeFileSync(file, 'topic,temp\nplant/a,1\nplant/b,2\n')
    // Worded in the keys of a pipeline's csv source (iotd replay, which sets the options by flags, names its flags).
    await expect(readAll(file)).rejects.toThrow(/no time column \(name it with timeColumn, or set untimed: true in source t;/)
    const {records} = await readAll(file, {untimed: true})
    expect(records.map((r) => [r.topic, r.fields])).toEqual([['plant/a', {temp: 1}], ['plant/b', {temp: 2}]])
  })

  it('a huge (5 MiB) payload comes back byte for byte', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-csv-'))
    const big = 'x'.repeat(5 * 1024 * 1024)
    const file = join(dir, 'huge.csv')
    writeFileSync(file, `ts,topic,qos,retain,encoding,payload\n1767225600000,a,0,0,utf8,${big}\n1767225600001,b,0,0,utf8,small\n`)
    const {records} = await readAll(file)
    expect(records.map((r) => r.payload!.length)).toEqual([big.length, 5])
  })

  it('strict: the first bad row stops the read with its file and row number', async () => {
    await expect(readAll('missing-columns.csv', {strict: true})).rejects.toThrow(/missing-columns\.csv row 3: expected 6 columns, found 5 \(stopped by --strict\)/)
  })

  it('a capture header demanded of a foreign file is a usage error naming the header', async () => {
    await expect(readAll('logger-epoch-ms.csv', {format: 'capture'})).rejects.toThrow(/not iotd's capture format/)
  })
})

describe('a mapped file that cannot be mapped', () => {
  it("is refused in the words of who set the options: a pipeline file's keys, or iotd replay's flags", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-csv-'))
    const path = join(dir, 'plain.csv')
    writeFileSync(path, 'ts,deviceId,temp\n1767225600000,d1,20\n')
    const read = async (setBy: 'flags' | 'keys') => {
      const source = new CsvSource('telemetry', csvSourceOptions.parse({path}), process.stdin, setBy)
      for await (const batch of source.readBatches(toolContext(new AbortController().signal))) void batch
    }
    await expect(read('keys')).rejects.toThrow(/no topic column: give a template such as topic: "plant\/\{device\}\/env" in source telemetry \(columns: ts,deviceId,temp\)/)
    await expect(read('flags')).rejects.toThrow(/no topic column: give a template such as --topic "plant\/\{device\}\/env" \(columns/)
  })
})
