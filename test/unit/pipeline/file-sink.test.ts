/**
 * The file sink's durable writes (pipeline run): write() resolves only once its rows are on disk, and a write the
 * disk refuses rejects as transient (the runtime retries it) instead of resolving and failing later.
 */
import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {parse} from 'csv-parse/sync'
import {describe, expect, it} from 'vitest'
import {FileSink, fileSinkOptions} from '../../../src/pipeline/sinks/file.js'
import {isTransientSinkError, type PipelineRecord, type StageContext} from '../../../src/pipeline/types.js'

const ctx: StageContext = {signal: new AbortController().signal, deadLetter: () => undefined, warn: () => undefined}
const row = (seq: number): PipelineRecord => ({ts: 0, fields: {seq}, meta: {source: 't'}})

describe('file sink, durable writes', () => {
  it('write() resolves with the rows in the file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'iotd-file-sink-')), 'out.jsonl')
    const sink = new FileSink('f', fileSinkOptions.parse({path}), Date.now, {durable: true})
    await sink.open(ctx)
    await sink.write([row(1), row(2)])
    // Read before close: nothing may wait in a buffer once write() resolved.
    expect(readFileSync(path, 'utf8')).toBe('{"seq":1}\n{"seq":2}\n')
    expect(sink.stats.syncedRows).toBe(2)
    await sink.close()
  })

  it.runIf(existsSync('/dev/full'))('a refused write (ENOSPC, /dev/full) rejects as transient, and a later write is tried again', async () => {
    const sink = new FileSink('f', fileSinkOptions.parse({path: '/dev/full'}), Date.now, {durable: true})
    await sink.open(ctx)
    const first = await sink.write([row(1)]).then(() => undefined, (e: unknown) => e)
    expect(first).toBeInstanceOf(Error)
    expect((first as Error).message).toMatch(/cannot write \/dev\/full: the disk is full/)
    expect(isTransientSinkError(first)).toBe(true)
    // Not failed for good: the retry reaches the disk again (and is refused again, by /dev/full).
    const second = await sink.write([row(1)]).then(() => undefined, (e: unknown) => e)
    expect(isTransientSinkError(second)).toBe(true)
    expect(sink.stats.rows).toBe(0)
    await sink.close()
  })
})

describe('file sink, a run resuming from a checkpoint', () => {
  it('appends to the file instead of replacing it; a fresh run replaces it', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'iotd-file-sink-')), 'out.jsonl')
    writeFileSync(path, '{"seq":0}\n')
    const resumed = new FileSink('f', fileSinkOptions.parse({path}), Date.now, {durable: true})
    await resumed.open({...ctx, resuming: true})
    await resumed.write([row(1)])
    await resumed.close()
    expect(readFileSync(path, 'utf8')).toBe('{"seq":0}\n{"seq":1}\n')
    const fresh = new FileSink('f', fileSinkOptions.parse({path}), Date.now, {durable: true})
    await fresh.open(ctx)
    await fresh.write([row(2)])
    await fresh.close()
    expect(readFileSync(path, 'utf8')).toBe('{"seq":2}\n')
  })

  it('cuts a last row that has no line end (a kill in the middle of a write) before appending', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'iotd-file-sink-')), 'out.jsonl')
    writeFileSync(path, '{"seq":0}\n{"seq":1}\n{"se')
    const sink = new FileSink('f', fileSinkOptions.parse({path}), Date.now, {durable: true})
    await sink.open({...ctx, resuming: true})
    await sink.write([row(2)])
    await sink.close()
    expect(readFileSync(path, 'utf8')).toBe('{"seq":0}\n{"seq":1}\n{"seq":2}\n')
  })

  it.each(['csv', 'capture'] as const)('%s: cuts a torn row whose quoted cell holds a line end, and every whole row parses after the append', async (format) => {
    const path = join(mkdtempSync(join(tmpdir(), 'iotd-file-sink-')), `out.${format}`)
    const lines = (n: number): PipelineRecord => ({ts: n * 1000, topic: 't', payload: Buffer.from(`line ${n}\nsecond "part"`), meta: {source: 't'}})
    const first = new FileSink('f', fileSinkOptions.parse({path, format}), Date.now, {durable: true})
    await first.open(ctx)
    await first.write([lines(1), lines(2)])
    await first.close()
    const whole = readFileSync(path, 'utf8')
    // A kill in the middle of row 3: its quoted cell is open, past its first line end.
    const row3 = (await (async () => {
      const probe = join(mkdtempSync(join(tmpdir(), 'iotd-file-sink-')), `p.${format}`)
      const s = new FileSink('f', fileSinkOptions.parse({path: probe, format}), Date.now, {durable: true})
      await s.open(ctx)
      await s.write([lines(3)])
      await s.close()
      return readFileSync(probe, 'utf8').split('\n').slice(1).join('\n')
    })())
    const torn = row3.slice(0, row3.indexOf('\n') + 4)
    expect(torn).toContain('"line 3\n')
    writeFileSync(path, whole + torn)
    const resumed = new FileSink('f', fileSinkOptions.parse({path, format}), Date.now, {durable: true})
    await resumed.open({...ctx, resuming: true})
    await resumed.write([lines(4)])
    await resumed.close()
    const rows = parse(readFileSync(path, 'utf8'), {columns: true}) as Array<Record<string, string>>
    expect(rows.map((r) => r.payload)).toEqual([1, 2, 4].map((n) => `line ${n}\nsecond "part"`))
  })

  it('with rotation, starts the file after the last one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-file-sink-'))
    writeFileSync(join(dir, 'out.0001.jsonl'), '{"seq":0}\n')
    writeFileSync(join(dir, 'out.0002.jsonl'), '{"seq":1}\n')
    const sink = new FileSink('f', fileSinkOptions.parse({path: join(dir, 'out.jsonl'), rotateSize: '1MiB'}), Date.now, {durable: true})
    await sink.open({...ctx, resuming: true})
    await sink.write([row(2)])
    await sink.close()
    expect(sink.currentPath).toBe(join(dir, 'out.0003.jsonl'))
    expect(readFileSync(join(dir, 'out.0002.jsonl'), 'utf8')).toBe('{"seq":1}\n')
  })
})
