/**
 * A binary file given to the csv reader (replay, the csv source) is said so at the byte that shows it, a
 * ConfigError (exit 2) of one line, `file:line:col: not a text file (...)`, with the same check as config files;
 * before, it was read as rows and refused for what its "header" lacked ("no topic: give a template ..."), or with
 * --csv-format capture its header bytes were quoted raw to the terminal. What a message quotes from a file is shown
 * with control bytes escaped.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {clip} from '../../../src/capture/format.js'
import {ConfigError} from '../../../src/errors.js'
import {CsvSource, csvSourceOptions} from '../../../src/pipeline/sources/csv.js'
import {toolContext} from '../../../src/tools/context.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-binary-csv-'))
/** The start of a PNG: a signature with a \x1a and NULs, then chunk bytes. */
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x1b, 0x5b, 0x32, 0x4a])

async function readAll(path: string, extra: Record<string, unknown> = {}) {
  const source = new CsvSource('t', csvSourceOptions.parse({path, ...extra}))
  for await (const _ of source.readBatches(toolContext(new AbortController().signal))) void _
}

describe('csv reader: a binary file', () => {
  it.each([['auto'], ['capture'], ['mapped']])('--csv-format %s: not a text file at its line and column, exit 2', async (format) => {
    const path = join(work, `image-${format}.csv`)
    writeFileSync(path, PNG)
    const error = await readAll(path, {format}).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(2)
    // A NUL is looked for first (as for config files): byte 8, after the signature's two line feeds.
    expect((error as Error).message).toBe(`${path}:3:1: not a text file (a NUL byte at byte 8); expected a CSV text file (iotd's capture format or columns to map)`)
  })

  it('bytes that are not UTF-8, without a NUL (an Excel export in windows-1252): not UTF-8 text, with the conversion, exit 2', async () => {
    const path = join(work, 'excel.csv')
    // 'café' in windows-1252: 0xe9 starts no UTF-8 sequence.
    writeFileSync(path, Buffer.concat([Buffer.from('ts,topic,payload\n1,a/b,caf'), Buffer.from([0xe9, 0x0a])]))
    const error = await readAll(path).then(() => undefined, (e: unknown) => e)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(2)
    expect((error as Error).message).toBe(`${path}:2:10: not UTF-8 text: convert it first (iconv -f windows-1252 -t utf-8 ${path} > ${join(work, 'excel.utf8.csv')})`)
  })

  it('a NUL after a text start is found at its line and column', async () => {
    const path = join(work, 'nul.csv')
    writeFileSync(path, Buffer.concat([Buffer.from('ts,topic,qos,retain,encoding,payload\n17,'), Buffer.from([0, 1, 2])]))
    await expect(readAll(path)).rejects.toThrow(`${path}:2:4: not a text file (a NUL byte at byte 40)`)
  })

  it('a text header that is not the capture format is quoted with its control bytes escaped', async () => {
    const path = join(work, 'escape.csv')
    writeFileSync(path, 'a\u001b[31mb,c\u0007\n1,2\n')
    const error = await readAll(path, {format: 'capture'}).then(() => undefined, (e: unknown) => e as Error)
    expect(error?.message).toContain('the header (a\\x1b[31mb,c\\x07) is not')
    expect([...(error?.message ?? '')].some((c) => c.charCodeAt(0) < 0x20)).toBe(false)
  })

  it('clip escapes control bytes and U+FFFD, and cuts long text', () => {
    expect(clip('a\u0000b\tc\u009b\ufffd')).toBe('a\\x00b\\x09c\\x9b\\ufffd')
    expect(clip('x'.repeat(50), 10)).toBe(`${'x'.repeat(10)}…`)
  })
})
