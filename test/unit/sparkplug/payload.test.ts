import {describe, expect, it} from 'vitest'
import {SCALAR_TYPES} from '../../../src/sparkplug/datatypes.js'
import {decodePayload, encodePayload, jsonValue, retypeValue, type MetricToEncode} from '../../../src/sparkplug/payload.js'
import {parseSparkplugTopic, sparkplugTopic, stateTopic} from '../../../src/sparkplug/topic.js'

describe('Sparkplug B payload codec', () => {
  const cases: Array<[MetricToEncode['datatype'], MetricToEncode['value'], unknown]> = [
    ['Int8', -128, -128],
    ['Int8', 127, 127],
    ['Int16', -32768, -32768],
    ['Int32', -2147483648, -2147483648],
    ['Int64', -1234567890123, -1234567890123],
    ['Int64', -(2n ** 63n), -(2n ** 63n)],
    ['UInt8', 255, 255],
    ['UInt16', 65535, 65535],
    ['UInt32', 4294967295, 4294967295],
    ['UInt64', 2n ** 64n - 1n, 2n ** 64n - 1n],
    ['UInt64', 9007199254740991, 9007199254740991],
    ['Float', 1.5, 1.5],
    ['Double', Math.PI, Math.PI],
    ['Boolean', false, false],
    ['Boolean', true, true],
    ['String', 'grüße', 'grüße'],
    ['Text', '', ''],
    ['UUID', '9c7e1a6e-0000-4000-8000-000000000001', '9c7e1a6e-0000-4000-8000-000000000001'],
    ['DateTime', 1796578146065, 1796578146065],
    ['Bytes', Buffer.from([0, 1, 255]), new Uint8Array([0, 1, 255])],
    ['Double', null, null],
  ]
  it.each(cases)('%s %s survives encode -> decode', (datatype, value, expected) => {
    const decoded = decodePayload(encodePayload({timestamp: 1, seq: 0, metrics: [{name: 'm', alias: 7, datatype, value}]}))
    expect(decoded.seq).toBe(0)
    expect(decoded.metrics[0]).toMatchObject({name: 'm', alias: 7, datatype})
    expect(decoded.metrics[0].value instanceof Uint8Array ? new Uint8Array(decoded.metrics[0].value) : decoded.metrics[0].value).toEqual(expected)
  })

  it('covers every scalar type it can simulate', () => {
    expect(new Set(cases.map((c) => c[0]))).toEqual(new Set(SCALAR_TYPES))
  })

  it('keeps zero and false on the wire (proto2 presence) and leaves the datatype out when asked', () => {
    const d = decodePayload(encodePayload({seq: 0, metrics: [{alias: 3, datatype: 'Int16', value: -2, omitDatatype: true}]}))
    expect(d.seq).toBe(0)
    expect(d.metrics[0].datatype).toBeUndefined()
    // Without the birth's type the value is the raw unsigned field; the birth's type makes it signed again.
    expect(d.metrics[0].value).toBe(4294967294)
    expect(retypeValue(d.metrics[0], 'Int16')).toBe(-2)
  })

  it('carries properties (engineering units and limits) typed', () => {
    const d = decodePayload(encodePayload({metrics: [{name: 't', datatype: 'Float', value: 1, properties: {engUnit: {type: 'String', value: '°C'}, engHigh: {type: 'Double', value: 125}}}]}))
    expect(d.metrics[0].properties).toEqual({engUnit: '°C', engHigh: 125})
  })

  it('rejects bytes that are not a payload', () => {
    expect(() => decodePayload(Buffer.from('{"online":true}'))).toThrow()
  })

  it('turns bigints and bytes into JSON-safe values', () => {
    expect(jsonValue(2n ** 64n - 1n)).toBe('18446744073709551615')
    expect(jsonValue(new Uint8Array([1, 2]))).toBe('AQI=')
  })
})

describe('Sparkplug B topics', () => {
  it('parses node, device and STATE topics and refuses others', () => {
    expect(parseSparkplugTopic('spBv1.0/g/NBIRTH/n')).toEqual({kind: 'message', group: 'g', type: 'NBIRTH', node: 'n'})
    expect(parseSparkplugTopic('spBv1.0/g/DDATA/n/d')).toEqual({kind: 'message', group: 'g', type: 'DDATA', node: 'n', device: 'd'})
    expect(parseSparkplugTopic('spBv1.0/STATE/scada')).toEqual({kind: 'state', host: 'scada'})
    expect(parseSparkplugTopic('spBv1.0/g/DDATA/n')).toBeUndefined()
    expect(parseSparkplugTopic('spBv1.0/g/NDATA/n/d')).toBeUndefined()
    expect(parseSparkplugTopic('spBv1.0/g/XDATA/n')).toBeUndefined()
    expect(parseSparkplugTopic('plant/g/NDATA/n')).toBeUndefined()
    expect(sparkplugTopic('g', 'DCMD', 'n', 'd')).toBe('spBv1.0/g/DCMD/n/d')
    expect(stateTopic('h')).toBe('spBv1.0/STATE/h')
  })
})
