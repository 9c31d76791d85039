import {describe, expect, it} from 'vitest'
import {SparkplugHostSession} from '../../../src/sparkplug/host-session.js'
import {encodePayload, type MetricToEncode} from '../../../src/sparkplug/payload.js'

const msg = (seq: number | undefined, metrics: MetricToEncode[] = []) => encodePayload({timestamp: 1, seq, metrics})
const bdSeq = (v: number) => [{name: 'bdSeq', datatype: 'Int64' as const, value: v}]

function born(host = new SparkplugHostSession()) {
  host.observe('spBv1.0/g/NBIRTH/n', msg(0, [...bdSeq(3), {name: 'Temp', alias: 5, datatype: 'Int16', value: -4}]))
  host.observe('spBv1.0/g/DBIRTH/n/d', msg(1, [{name: 'Level', alias: 9, datatype: 'Int8', value: -1}]))
  return host
}

describe('SparkplugHostSession', () => {
  it('resolves data aliases through the births, typed as the birth declared', () => {
    const host = born()
    const o = host.observe('spBv1.0/g/DDATA/n/d', msg(2, [{alias: 9, datatype: 'Int8', value: -3, omitDatatype: true}]))
    expect(o).toMatchObject({kind: 'message', type: 'DDATA', device: 'd', problems: []})
    expect(o?.kind === 'message' && o.payload.metrics[0]).toMatchObject({name: 'Level', alias: 9, datatype: 'Int8', value: -3})
    expect(host.counters).toMatchObject({births: 2, data: 1, seqGaps: 0})
  })

  it('wraps seq 255 -> 0 without a gap, and counts a real gap with the messages missed', () => {
    const host = born()
    for (let i = 2; i < 300; i++) host.observe('spBv1.0/g/NDATA/n', msg(i % 256, [{alias: 5, datatype: 'Int16', value: i, omitDatatype: true}]))
    expect(host.counters.seqGaps).toBe(0)
    const o = host.observe('spBv1.0/g/NDATA/n', msg(50))
    expect(o?.problems).toEqual([{kind: 'seq-gap', message: 'g/n: NDATA seq 50, expected 44'}])
    expect(host.counters).toMatchObject({seqGaps: 1, missedMessages: 6})
  })

  it('counts data before birth, for the node and for a device', () => {
    const host = new SparkplugHostSession()
    host.observe('spBv1.0/g/NDATA/n', msg(4))
    born(host)
    host.observe('spBv1.0/g/DDATA/n/other', msg(2))
    expect(host.counters.dataBeforeBirth).toBe(2)
  })

  it('ignores an NDEATH whose bdSeq is not the current birth\'s (stale), and takes the matching one', () => {
    const host = born()
    const stale = host.observe('spBv1.0/g/NDEATH/n', msg(undefined, bdSeq(2)))
    expect(stale?.problems[0]?.kind).toBe('stale-bdseq')
    host.observe('spBv1.0/g/DDATA/n/d', msg(2))
    expect(host.counters).toMatchObject({staleBdSeq: 1, dataBeforeBirth: 0})
    host.observe('spBv1.0/g/NDEATH/n', msg(undefined, bdSeq(3)))
    host.observe('spBv1.0/g/DDATA/n/d', msg(3))
    expect(host.counters).toMatchObject({deaths: 2, dataBeforeBirth: 1})
  })

  it('counts undecodable payloads and aliases the birth did not declare', () => {
    const host = born()
    host.observe('spBv1.0/g/DDATA/n/d', Buffer.from([0xff, 0xff, 0xff]))
    host.observe('spBv1.0/g/DDATA/n/d', msg(2, [{alias: 77, datatype: 'Int8', value: 1, omitDatatype: true}]))
    expect(host.counters).toMatchObject({decodeErrors: 1, unknownAliases: 1})
    expect(host.observe('plant/other', Buffer.from('x'))).toBeUndefined()
  })

  it('reads STATE', () => {
    const host = new SparkplugHostSession()
    expect(host.observe('spBv1.0/STATE/scada', Buffer.from('{"online":false,"timestamp":5}'))).toEqual({kind: 'state', host: 'scada', online: false, timestamp: 5, problems: []})
  })
})
