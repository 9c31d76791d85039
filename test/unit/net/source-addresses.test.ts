import {describe, expect, it} from 'vitest'
import {UsageError} from '../../../src/errors.js'
import {assignSourceAddress, parseSourceAddresses} from '../../../src/net/source-addresses.js'

describe('parseSourceAddresses', () => {
  it('accepts comma- and space-separated lists and arrays, dropping duplicates', () => {
    expect(parseSourceAddresses('127.0.0.2,127.0.0.3')).toEqual(['127.0.0.2', '127.0.0.3'])
    expect(parseSourceAddresses(['127.0.0.2', '127.0.0.3 127.0.0.2', '::1'])).toEqual(['127.0.0.2', '127.0.0.3', '::1'])
  })

  it('expands last-octet and full ranges, crossing octet boundaries', () => {
    expect(parseSourceAddresses('127.0.0.2-5')).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'])
    expect(parseSourceAddresses('127.0.0.254-127.0.1.1')).toEqual(['127.0.0.254', '127.0.0.255', '127.0.1.0', '127.0.1.1'])
  })

  it('expands CIDR blocks to host addresses', () => {
    expect(parseSourceAddresses('127.0.0.0/30')).toEqual(['127.0.0.1', '127.0.0.2'])
    expect(parseSourceAddresses('10.1.2.3/32')).toEqual(['10.1.2.3'])
    expect(parseSourceAddresses('10.1.2.4/31')).toEqual(['10.1.2.4', '10.1.2.5'])
    // The base address need not be the network address.
    expect(parseSourceAddresses('192.168.1.77/29')).toEqual(['192.168.1.73', '192.168.1.74', '192.168.1.75', '192.168.1.76', '192.168.1.77', '192.168.1.78'])
  })

  it.each([
    ['127.0.0', 'is not an IP address'],
    ['127.0.0.9-2', 'ends before it starts'],
    ['127.0.0.2-300', 'above 255'],
    ['127.0.0.0/33', 'prefix length'],
    ['127.0.0.0/8', 'more than 65536'],
    ['host.example-2', 'is not an IPv4 address'],
  ])('rejects %s with a clear usage error', (spec, fragment) => {
    let caught: unknown
    try {
      parseSourceAddresses(spec)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(UsageError)
    expect((caught as UsageError).message).toContain(spec)
    expect((caught as UsageError).message).toContain(fragment)
    expect((caught as UsageError).exitCode).toBe(2)
  })
})

describe('assignSourceAddress', () => {
  it('goes round-robin and leaves the choice to the OS when there are no addresses', () => {
    const addrs = ['127.0.0.2', '127.0.0.3', '127.0.0.4']
    expect([0, 1, 2, 3, 7].map((i) => assignSourceAddress(i, addrs))).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.2', '127.0.0.3'])
    expect(assignSourceAddress(5, [])).toBeUndefined()
  })
})

describe('short ranges above 128.0.0.0', () => {
  it('expands 192.168.1.10-12 (bitwise results are unsigned)', () => {
    expect(parseSourceAddresses('192.168.1.10-12')).toEqual(['192.168.1.10', '192.168.1.11', '192.168.1.12'])
  })
})
