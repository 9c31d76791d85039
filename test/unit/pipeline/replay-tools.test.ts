import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {loadAwareBound} from '../../helpers/load-bound.js'
import {describe, expect, it} from 'vitest'
import {FileSink, fileSinkOptions} from '../../../src/pipeline/sinks/file.js'
import {compileTopicTemplate} from '../../../src/pipeline/sinks/mqtt.js'
import {decodePayload, splitCsvLine} from '../../../src/pipeline/sources/mqtt.js'
import {toolContext} from '../../../src/tools/context.js'
import {loopFlag, speedFlag, timeBoundFlag} from '../../../src/tools/flag-values.js'
import {ReplayClock, waitUntil} from '../../../src/tools/replay-clock.js'
import {parseTopicMapping, topicMapper} from '../../../src/tools/replay.js'
import {compileFields, compileWhere} from '../../../src/tools/where.js'
import type {PipelineRecord} from '../../../src/pipeline/types.js'
import {seededRandom} from '../../helpers/seeded-random.js'

const rec = (fields: unknown, topic = 'acme/a', extra: Partial<PipelineRecord['meta']> = {}): PipelineRecord => ({ts: 1_767_225_600_000, topic, fields, meta: {source: 't', topic, qos: 1, retain: false, ...extra}})

describe('ReplayClock', () => {
  it('a 10-minute capture with irregular gaps: every due time is its offset / speed from the start, whatever the wake-ups did', () => {
    const random = seededRandom(1)
    const clock = new ReplayClock(1, 5000)
    let ts = 1_767_225_600_000
    const first = ts
    expect(clock.dueAt(first)).toBe(5000)
    let worst = 0
    while (ts - first < 600_000) {
      ts += random() < 0.2 ? 0 : random() * 50
      // Due times depend on nothing but the start and the row's time: no accumulation of wake-up lateness.
      worst = Math.max(worst, Math.abs(clock.dueAt(ts) - (5000 + (ts - first))))
    }
    expect(worst).toBeLessThan(1e-6)
    expect(clock.outOfOrder).toBe(0)
  })

  it('--speed divides the offsets; a loop carries on from the last due time; earlier rows are counted, not waited for', () => {
    const clock = new ReplayClock(10, 0)
    expect([0, 1000, 5000].map((t) => clock.dueAt(t))).toEqual([0, 100, 500])
    clock.nextLoop()
    expect([100, 1100].map((t) => clock.dueAt(t))).toEqual([500, 600])
    expect(clock.dueAt(0)).toBe(600)
    expect(clock.outOfOrder).toBe(1)
    expect(() => new ReplayClock(0, 0)).toThrow(/positive/)
  })

  it('waitUntil returns at or after the due time, not long after', async () => {
    const now = () => performance.now()
    const due = now() + 30
    await waitUntil(due, now)
    const late = now() - due
    expect(late).toBeGreaterThanOrEqual(0)
    expect(late).toBeLessThan(loadAwareBound(25))
  })
})

describe('topic mapping', () => {
  it('maps a topic and everything below it, first rule wins, then the prefix', () => {
    const map = topicMapper([parseTopicMapping('plant/line1=test/l1'), parseTopicMapping('plant/#=other')], 'replay/')
    expect(map('plant/line1')).toBe('replay/test/l1')
    expect(map('plant/line1/dev/x')).toBe('replay/test/l1/dev/x')
    expect(map('plant/line10/x')).toBe('replay/other/line10/x')
    expect(map('elsewhere/x')).toBe('replay/elsewhere/x')
    expect(() => parseTopicMapping('nope')).toThrow(/from=to/)
  })
})

describe('--where and --fields', () => {
  it('filters with SQL; bare topic/qos/retain read the message', () => {
    const where = compileWhere("temp > 30 AND topic LIKE 'acme/%'")
    expect(where(rec({temp: 31}))).toBe(true)
    expect(where(rec({temp: 29}))).toBe(false)
    expect(where(rec({temp: 31}, 'other/a'))).toBe(false)
    expect(where(rec('not an object'))).toBe(false)
    expect(compileWhere('qos = 1 AND NOT retain')(rec({}))).toBe(true)
    expect(compileWhere('a.b IN (1, 2)')(rec({a: {b: 2}}))).toBe(true)
  })

  it('a bad condition is a usage error with a caret under the place', () => {
    expect(() => compileWhere('temp >')).toThrow(/--where: .*\n {2}temp >\n {2}\s*\^/)
  })

  it('picks fields by path, with null for what is missing', () => {
    const pick = compileFields(['temp', 'meta.site', 'topic', 'nope'])
    expect(pick(rec({temp: 21, meta: {site: 'n'}}))).toEqual({temp: 21, 'meta.site': 'n', topic: 'acme/a', nope: null})
  })
})

describe('payload decoding (mqtt source)', () => {
  it('json, auto, csv and raw', () => {
    expect(decodePayload(Buffer.from('{"a":1}'), 'json')).toEqual({a: 1})
    expect(typeof decodePayload(Buffer.from('{bad'), 'json')).toBe('symbol')
    expect(decodePayload(Buffer.from('{bad'), 'auto')).toBe('{bad')
    expect(decodePayload(Buffer.from('21.5'), 'auto')).toBe(21.5)
    expect(decodePayload(Buffer.from([0xff, 0]), 'auto')).toBeUndefined()
    expect(decodePayload(Buffer.from('1,"a,b",x\n'), 'csv', ['n', 's', 't'])).toEqual({n: 1, s: 'a,b', t: 'x'})
    expect(typeof decodePayload(Buffer.from('1,2'), 'csv', ['a', 'b', 'c'])).toBe('symbol')
    expect(decodePayload(Buffer.from('x'), 'raw')).toBeUndefined()
    expect(splitCsvLine('"open')).toBeUndefined()
  })
})

describe('topic templates (mqtt sink)', () => {
  it('fills ${field} from the fields, ${topic} and ${key} from the record; missing or wildcard values give no topic', () => {
    expect(compileTopicTemplate('alerts/${deviceId}')(rec({deviceId: 'd1'}))).toBe('alerts/d1')
    expect(compileTopicTemplate('x/${a.b}/${topic}')(rec({a: {b: 7}}))).toBe('x/7/acme/a')
    expect(compileTopicTemplate('alerts/${deviceId}')(rec({}))).toBeUndefined()
    expect(compileTopicTemplate('alerts/${deviceId}')(rec({deviceId: '#'}))).toBeUndefined()
    expect(compileTopicTemplate('fixed/topic')(rec({}))).toBe('fixed/topic')
  })
})

describe('flag values', () => {
  it('parses --start/--end, --loop and --speed', () => {
    expect(timeBoundFlag('start', '2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1))
    expect(timeBoundFlag('start', '2026-01-01 00:00:10')).toBe(Date.UTC(2026, 0, 1, 0, 0, 10))
    expect(timeBoundFlag('start', '+5m')).toEqual({offsetMs: 300_000})
    expect(timeBoundFlag('start', '1767225600000')).toBe(1767225600000)
    expect(() => timeBoundFlag('start', 'soon')).toThrow(/--start/)
    expect(loopFlag('forever')).toBe(Number.POSITIVE_INFINITY)
    expect(loopFlag('3')).toBe(3)
    expect(() => loopFlag('0')).toThrow(/--loop/)
    expect(speedFlag('0.5')).toBe(0.5)
    expect(speedFlag('10x')).toBe(10)
    expect(() => speedFlag('-1')).toThrow(/--speed/)
  })
})

describe('file sink', () => {
  const ctx = toolContext(new AbortController().signal)
  const msg = (i: number): PipelineRecord => ({ts: 1_767_225_600_000 + i, topic: `t/${i}`, payload: Buffer.from(`payload number ${i}`), meta: {source: 't', qos: 0, retain: false}})

  it('rotates by size: every file has its header and replays on its own', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-file-'))
    const sink = new FileSink('f', fileSinkOptions.parse({path: join(dir, 'cap.csv'), format: 'capture', rotateSize: '200B'}))
    await sink.open(ctx)
    for (let i = 0; i < 20; i++) await sink.write([msg(i)])
    await sink.close()
    expect(sink.stats.files.length).toBeGreaterThan(3)
    expect(sink.stats.files[0]).toMatch(/cap\.0001\.csv$/)
    let rows = 0
    for (const f of sink.stats.files) {
      const lines = readFileSync(f, 'utf8').trim().split('\n')
      expect(lines[0]).toBe('ts,topic,qos,retain,encoding,payload')
      rows += lines.length - 1
    }
    expect(rows).toBe(20)
  })

  it('rotates by time with an injected clock', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-file-'))
    let t = 0
    const sink = new FileSink('f', fileSinkOptions.parse({path: join(dir, 'out.jsonl'), format: 'jsonl', wrap: true, rotateEvery: '1h'}), () => t)
    await sink.open(ctx)
    await sink.write([msg(1)])
    t = 3_600_000
    await sink.write([msg(2), msg(3)])
    await sink.close()
    expect(sink.stats.files.map((f) => readFileSync(f, 'utf8').trim().split('\n').length)).toEqual([1, 2])
    expect(JSON.parse(readFileSync(sink.stats.files[1], 'utf8').split('\n')[0])).toMatchObject({topic: 't/2', payload: 'payload number 2'})
  })

  it('writes out within the flush interval, before close (a crash loses at most that much)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-file-'))
    const path = join(dir, 'live.csv')
    const sink = new FileSink('f', fileSinkOptions.parse({path, format: 'csv', flushInterval: '100ms'}))
    await sink.open(ctx)
    await sink.write([msg(1)])
    expect(readFileSync(path, 'utf8')).toBe('')
    await expect.poll(() => readFileSync(path, 'utf8'), {timeout: 5000}).toBe('ts,topic,payload\n2026-01-01T00:00:00.001Z,t/1,payload number 1\n')
    await sink.close()
  })

  it('a directory that cannot be created is one clear error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-file-'))
    writeFileSync(join(dir, 'plain-file'), '')
    const sink = new FileSink('f', fileSinkOptions.parse({path: join(dir, 'plain-file', 'x.csv')}))
    await expect(sink.open(ctx)).rejects.toThrow(/cannot write .*plain-file/)
  })
})
