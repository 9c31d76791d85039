import {describe, expect, it} from 'vitest'
import {paint} from '../../../src/report/terminal.js'
import {csvHeader, formatCsv, formatNdjson, formatRaw, formatText, topicColour} from '../../../src/tools/tail-format.js'
import {TopicStats} from '../../../src/tools/topic-stats.js'
import type {PipelineRecord} from '../../../src/pipeline/types.js'

const at = new Date(2026, 0, 1, 12, 34, 56, 789).getTime()
const rec = (payload: Buffer, fields?: unknown, meta: Partial<PipelineRecord['meta']> = {}): PipelineRecord => ({ts: at, topic: 'plant/a', payload, fields, meta: {source: 't', topic: 'plant/a', qos: 0, retain: false, ...meta}})
const plain = {paint: paint(false), columns: 80, json: 'auto' as const, binary: 'hex' as const}

describe('tail text format', () => {
  it('time, topic, marks and compact JSON on one line when it fits', () => {
    const r = rec(Buffer.from('{"t":21.5}'), {t: 21.5}, {retain: true, qos: 1})
    expect(formatText(r, plain)).toBe('12:34:56.789 plant/a R q1 {"t":21.5}\n')
  })

  it('JSON too wide for the terminal is indented; pretty forces it', () => {
    const fields = {a: 'x'.repeat(50), b: [1, 2]}
    const r = rec(Buffer.from(JSON.stringify(fields)), fields)
    expect(formatText(r, plain).split('\n').length).toBeGreaterThan(3)
    expect(formatText(rec(Buffer.from('{"a":1}'), {a: 1}), {...plain, json: 'pretty'})).toBe('12:34:56.789 plant/a {\n    "a": 1\n  }\n')
  })

  it('binary as hex or base64 with its length, long ones cut', () => {
    const r = rec(Buffer.from([0, 1, 0xff]))
    expect(formatText(r, plain)).toBe('12:34:56.789 plant/a <3 bytes hex> 00 01 ff\n')
    expect(formatText(r, {...plain, binary: 'base64'})).toBe('12:34:56.789 plant/a <3 bytes base64> AAH/\n')
    expect(formatText(rec(Buffer.alloc(100)), plain)).toMatch(/<100 bytes hex> (00 ){63}00 … \(100 bytes\)\n$/)
  })

  it('MQTT 5 properties on a second line', () => {
    const r = rec(Buffer.from('x'), 'x', {properties: {contentType: 'text/plain', userProperties: {site: 'north'}}})
    expect(formatText(r, plain)).toBe('12:34:56.789 plant/a x\n  ↳ contentType=text/plain  site=north\n')
  })

  it('colour only when asked, and the same colour for the same topic', () => {
    const coloured = formatText(rec(Buffer.from('{"a":1}'), {a: 1}), {...plain, paint: paint(true)})
    expect(coloured).toContain('\u001b[')
    expect(formatText(rec(Buffer.from('{"a":1}'), {a: 1}), plain)).not.toContain('\u001b')
    expect(topicColour('plant/a')).toBe(topicColour('plant/a'))
  })
})

describe('tail script formats', () => {
  it('ndjson is valid JSON for any payload; binary goes as base64 with its encoding', () => {
    for (const payload of [Buffer.from([0, 0xff, 10, 13, 0x22]), Buffer.from('line\nbreak "q"'), Buffer.from('{"a":1}'), Buffer.alloc(0)]) {
      const line = formatNdjson(rec(payload))
      expect(line.endsWith('\n')).toBe(true)
      expect(line.slice(0, -1)).not.toContain('\n')
      const o = JSON.parse(line)
      const back = o.encoding === 'base64' ? Buffer.from(o.payload, 'base64') : Buffer.from(o.payload, 'utf8')
      expect(back).toEqual(payload)
    }
    expect(JSON.parse(formatNdjson(rec(Buffer.from('{"a":1}'), {a: 1}))).payload).toEqual({a: 1})
  })

  it('csv is the capture format; raw is the bytes and a newline', () => {
    expect(csvHeader(undefined, false)).toBe('ts,topic,qos,retain,encoding,payload\n')
    expect(formatCsv(rec(Buffer.from('a,b')), false)).toBe(`${at * 1000},plant/a,0,0,utf8,"a,b"\n`)
    expect(formatCsv(rec(Buffer.from('{}'), {}), false, {temp: 1, s: 'x'})).toBe(`${new Date(at).toISOString()},plant/a,1,x\n`)
    expect(formatRaw(rec(Buffer.from([1, 2])))).toEqual(Buffer.from([1, 2, 10]))
  })
})

describe('topic stats', () => {
  it('counts per topic, rates with decimals, topic order, the busiest when rows are capped, a total row', () => {
    let t = 0
    const s = new TopicStats(() => t)
    for (let i = 0; i < 30; i++) s.add('b', 10, t)
    for (let i = 0; i < 10; i++) s.add('a', 100, t)
    s.add('c', 1, t)
    t = 2000
    s.tick()
    const lines = s.render(2, t).trim().split('\n')
    expect(lines[0]).toMatch(/^topic\s+messages\s+msg\/s\s+last seen\s+size\s+avg size$/)
    // The two busiest, in topic order (a before b although b has more).
    expect(lines[1]).toMatch(/^a\s+10\s+5\s+2s ago\s+100 B\s+100 B$/)
    expect(lines[2]).toMatch(/^b\s+30\s+15\s+2s ago\s+10 B\s+10 B$/)
    expect(lines[3]).toBe('… 1 more topic (the busiest are shown)')
    // The total counts every topic: 41 messages, 20.5/s.
    expect(lines[4]).toMatch(/^total \(3 topics\)\s+41\s+20\.5\s+2s ago\s+\d+ B$/)
  })

  it('a topic published every 2 s shows 0.5/s, and rows keep their place as counts change', () => {
    let t = 0
    const s = new TopicStats(() => t)
    const rows = () => s.render(10, t).trim().split('\n').slice(1, -1).map((l) => l.split(/\s+/)[0])
    for (let second = 1; second <= 10; second++) {
      if (second % 2 === 1) s.add('plant/slow', 20, t)
      for (let k = 0; k < second * 3; k++) s.add('plant/zfast', 20, t)
      s.add('plant/a-steady', 20, t)
      t = second * 1000
      s.tick()
      expect(rows()).toEqual(['plant/a-steady', 'plant/slow', 'plant/zfast'])
    }
    expect(s.rate('plant/slow')).toBeCloseTo(0.5, 5)
    expect(s.render(10, t)).toMatch(/^plant\/slow\s+5\s+0\.5\s/m)
    expect(s.render(10, t)).toMatch(/^plant\/a-steady\s+10\s+1\s/m)
  })
})
