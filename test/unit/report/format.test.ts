import {describe, expect, it} from 'vitest'
import {formatBytes, formatMs, formatNumber, formatPercent, formatRate, formatRateValue} from '../../../src/metrics/format.js'
import {redactUrl} from '../../../src/net/mqtt-endpoint.js'

describe('formatNumber', () => {
  it('groups thousands and keeps integers whole', () => {
    expect(formatNumber(0)).toBe('0')
    expect(formatNumber(1440)).toBe('1,440')
    expect(formatNumber(1234567)).toBe('1,234,567')
  })

  it('gives non-integers one decimal by default', () => {
    expect(formatNumber(12.345)).toBe('12.3')
    expect(formatNumber(12.345, {decimals: 2})).toBe('12.35')
    expect(formatNumber(1234.6)).toBe('1,235')
  })

  it('abbreviates from 10,000 in compact mode', () => {
    expect(formatNumber(9999, {compact: true})).toBe('9,999')
    expect(formatNumber(12_345, {compact: true})).toBe('12.3k')
    expect(formatNumber(1_234_567, {compact: true})).toBe('1.23M')
    expect(formatNumber(2_000_000_000, {compact: true})).toBe('2G')
  })

  it('prints non-finite values as a dash', () => {
    expect(formatNumber(Number.NaN)).toBe('-')
    expect(formatNumber(Number.POSITIVE_INFINITY)).toBe('-')
  })
})

describe('formatRate', () => {
  it('has one decimal below 100/s and grouping above', () => {
    expect(formatRate(24)).toBe('24.0/s')
    expect(formatRate(99.94, 'msg')).toBe('99.9 msg/s')
    expect(formatRate(12_345.6, 'msg')).toBe('12,346 msg/s')
    expect(formatRateValue(0)).toBe('0.0')
  })
})

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(4096)).toBe('4.0 KiB')
    expect(formatBytes(98 * 1024 * 1024)).toBe('98 MiB')
    expect(formatBytes(1.5 * 1024 ** 3)).toBe('1.5 GiB')
    expect(formatBytes(-1)).toBe('-')
  })
})

describe('formatMs', () => {
  it('picks the precision by scale', () => {
    expect(formatMs(0)).toBe('0ms')
    expect(formatMs(0.42)).toBe('420µs')
    expect(formatMs(0.0001)).toBe('1µs')
    expect(formatMs(3.14)).toBe('3.1ms')
    expect(formatMs(842.4)).toBe('842ms')
    expect(formatMs(1234)).toBe('1.23s')
    expect(formatMs(12_345)).toBe('12.3s')
    expect(formatMs(Number.NaN)).toBe('-')
  })
})

describe('formatPercent', () => {
  it('drops decimals from 10%', () => {
    expect(formatPercent(3.46)).toBe('3.5%')
    expect(formatPercent(12.4)).toBe('12%')
    expect(formatPercent(250)).toBe('250%')
  })
})

describe('redactUrl (as the reporters use it)', () => {
  it('hides the password and keeps the rest', () => {
    expect(redactUrl('mqtts://alice:s3cret@broker.example:8883/x')).toBe('mqtts://alice:***@broker.example:8883/x')
    expect(redactUrl('mqtt://plant-broker:1883')).toBe('mqtt://plant-broker:1883')
    expect(redactUrl('mqtt://alice@host')).toBe('mqtt://alice@host')
  })
})
