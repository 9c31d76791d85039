import {describe, expect, it} from 'vitest'
import {parse} from 'csv-parse/sync'
import {
  captureLayoutOf,
  captureRow,
  csvLine,
  decodePayload,
  DEFAULT_CAPTURE_LAYOUT,
  parseCaptureRow,
  parseCaptureTs,
  payloadEncodingOf,
  type CaptureMessage,
} from '../../../src/capture/index.js'

describe('capture format', () => {
  it('writes text payloads as utf8 and anything else as base64', () => {
    expect(payloadEncodingOf(Buffer.from('{"t":21.5}'))).toBe('utf8')
    expect(payloadEncodingOf(Buffer.from('zürich\tline\r\nnext'))).toBe('utf8')
    expect(payloadEncodingOf(Buffer.from([0xff, 0xfe, 0x00]))).toBe('base64')
    expect(payloadEncodingOf(Buffer.from('a\u0000b'))).toBe('base64')
    expect(payloadEncodingOf(Buffer.from('bell\u0007'))).toBe('base64')
  })

  it('reads ts in µs or ms by size', () => {
    expect(parseCaptureTs('1767225600000')).toBe(1767225600000)
    expect(parseCaptureTs('1767225600000123')).toBeCloseTo(1767225600000.123, 3)
    expect(parseCaptureTs('2026-01-01')).toMatch(/bad timestamp/)
    expect(parseCaptureTs('')).toMatch(/bad timestamp/)
  })

  it('refuses base64 that is not base64, and unknown encodings', () => {
    expect(decodePayload('aGVsbG8=', 'base64')).toEqual(Buffer.from('hello'))
    expect(decodePayload('not base64!', 'base64')).toBe('invalid base64 payload')
    expect(decodePayload('abc', 'base64')).toBe('invalid base64 payload')
    expect(decodePayload('x', 'rot13')).toMatch(/unknown encoding/)
  })

  it('round-trips every message through a CSV line and csv-parse, bytes and properties included', () => {
    const messages: CaptureMessage[] = [
      {tsMs: 1767225600000.5, topic: 'plant/a,b/"x"', qos: 1, retain: true, payload: Buffer.from('line 1\nline "2", with comma')},
      {tsMs: 1767225600001, topic: 'bin', qos: 0, retain: false, payload: Buffer.from([0, 1, 2, 255, 10, 13])},
      {tsMs: 1767225600002, topic: 'v5', qos: 2, retain: false, payload: Buffer.from(''), properties: {contentType: 'application/json', userProperties: {a: 'b'}, correlationData: Buffer.from([1, 2])}},
    ]
    const text = csvLine(['ts', 'topic', 'qos', 'retain', 'encoding', 'payload', 'properties']) + messages.map((m) => csvLine(captureRow(m, true))).join('')
    const rows = parse(text) as string[][]
    const layout = captureLayoutOf(rows[0])!
    const back = rows.slice(1).map((r) => parseCaptureRow(r, layout))
    expect(back).toEqual(messages)
  })

  it('names the reason for a bad row', () => {
    const L = DEFAULT_CAPTURE_LAYOUT
    expect(parseCaptureRow(['1', 't', '0', '0', 'utf8'], L)).toMatch(/expected 6 columns, found 5/)
    expect(parseCaptureRow(['1', 't', '0', '0', 'utf8', 'p', 'x', 'y'], L)).toMatch(/found 8/)
    expect(parseCaptureRow(['1', 'a/+/b', '0', '0', 'utf8', 'p'], L)).toMatch(/wildcard/)
    expect(parseCaptureRow(['1', 't', '3', '0', 'utf8', 'p'], L)).toMatch(/bad qos/)
    expect(parseCaptureRow(['1', 't', '0', 'yes', 'utf8', 'p'], L)).toMatch(/bad retain/)
    expect(parseCaptureRow(['1', '', '0', '0', 'utf8', 'p'], L)).toBe('empty topic')
    // MQTT bounds a topic at 65,535 bytes of UTF-8, not characters: 'é' is two bytes.
    expect(parseCaptureRow(['1', 'é'.repeat(32_768), '0', '0', 'utf8', 'p'], L)).toBe(`topic "${'é'.repeat(40)}…" is 65536 bytes long: MQTT topics are at most 65535 bytes (UTF-8)`)
    expect(parseCaptureRow(['1', 'x'.repeat(65_536), '0', '0', 'utf8', 'p'], L)).toMatch(/is 65536 bytes long/)
    expect(parseCaptureRow(['1', 'x'.repeat(65_535), '0', '0', 'utf8', 'p'], L)).toMatchObject({topic: 'x'.repeat(65_535)})
    expect(parseCaptureRow(['1', 'a/\0b', '0', '0', 'utf8', 'p'], L)).toBe('topic "a/\\x00b" contains a NUL character: MQTT forbids NUL in topics')
    expect(parseCaptureRow(['1', 't', '0', '0', 'utf8', 'p', '{bad'], L)).toBe('properties is not valid JSON')
    // The properties column is optional for files written without it.
    expect(parseCaptureRow(['1', 't', '0', '0', 'utf8', 'p'], L)).toMatchObject({topic: 't', payload: Buffer.from('p')})
  })

  it('finds the capture columns in any order and refuses other headers', () => {
    expect(captureLayoutOf(['topic', 'ts', 'payload'])).toMatchObject({ts: 1, topic: 0, payload: 2, qos: -1})
    expect(captureLayoutOf(['time', 'device', 'temp'])).toBeUndefined()
  })
})
