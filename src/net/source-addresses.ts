/**
 * Source addresses for client sockets. One (source address -> broker address:port) pair can carry at most as many
 * connections as the local port range holds (~28k on Linux by default), so large fleets spread their sockets over
 * several local addresses (127.0.0.x on loopback, or addresses assigned to the host's interfaces).
 */
import {isIP} from 'node:net'
import {UsageError} from '../errors.js'

/** Expanding a huge CIDR (127.0.0.0/8 is 16 M hosts) is always a mistake; this many is already far beyond need. */
const MAX_ADDRESSES = 65_536

/**
 * Parses `127.0.0.2,127.0.0.3`, ranges (`127.0.0.2-9`, `127.0.0.2-127.0.1.9`) and IPv4 CIDR blocks (`127.0.0.0/30`,
 * host addresses only). IPv6 addresses are accepted singly. Items may be separated by commas or whitespace, and
 * several flag values may be given as an array. Duplicates are removed, order is kept.
 * Throws a UsageError (exit 2) naming the bad item.
 */
export function parseSourceAddresses(spec: string | string[]): string[] {
  const items = (Array.isArray(spec) ? spec : [spec]).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s.length > 0)
  const out = new Set<string>()
  for (const item of items) {
    for (const address of expandItem(item)) {
      out.add(address)
      if (out.size > MAX_ADDRESSES) {
        throw new UsageError(`source addresses "${item}" expand to more than ${MAX_ADDRESSES} addresses`, [
          'use a smaller range or CIDR block, e.g. --source-ip 127.0.0.0/28',
        ])
      }
    }
  }
  return [...out]
}

/** Round-robin: connection `index` uses `addresses[index % n]`; undefined (let the OS choose) when there are none. */
export function assignSourceAddress(index: number, addresses: readonly string[]): string | undefined {
  if (addresses.length === 0) return undefined
  return addresses[index % addresses.length]
}

function expandItem(item: string): string[] {
  if (item.includes('/')) return expandCidr(item)
  const dash = item.indexOf('-')
  if (dash > 0 && isIP(item) === 0) return expandRange(item, item.slice(0, dash), item.slice(dash + 1))
  if (isIP(item) === 0) throw bad(item, 'is not an IP address')
  return [item]
}

function expandRange(item: string, fromText: string, toText: string): string[] {
  const from = ipv4ToInt(fromText)
  if (from === undefined) throw bad(item, `has a range start "${fromText}" that is not an IPv4 address`)
  let to: number | undefined
  if (/^\d{1,3}$/.test(toText)) {
    // Last-octet shorthand: 127.0.0.2-9 ends at 127.0.0.9.
    const octet = Number(toText)
    if (octet > 255) throw bad(item, `has a last octet ${octet} above 255`)
    // >>> 0: bitwise results are signed 32-bit, which breaks addresses from 128.0.0.0 up.
    to = ((from & 0xffffff00) | octet) >>> 0
  } else {
    to = ipv4ToInt(toText)
    if (to === undefined) throw bad(item, `has a range end "${toText}" that is not an IPv4 address`)
  }
  if (to < from) throw bad(item, 'ends before it starts')
  if (to - from + 1 > MAX_ADDRESSES) throw bad(item, `spans more than ${MAX_ADDRESSES} addresses`)
  const out: string[] = []
  for (let a = from; a <= to; a++) out.push(intToIpv4(a))
  return out
}

function expandCidr(item: string): string[] {
  const [base, bitsText, extra] = item.split('/')
  const start = ipv4ToInt(base)
  if (start === undefined || extra !== undefined) throw bad(item, 'is not an IPv4 CIDR block (e.g. 127.0.0.0/30)')
  if (!/^\d{1,2}$/.test(bitsText) || Number(bitsText) > 32) throw bad(item, 'has a prefix length outside 0-32')
  const bits = Number(bitsText)
  const size = 2 ** (32 - bits)
  if (size > MAX_ADDRESSES) throw bad(item, `holds more than ${MAX_ADDRESSES} addresses`)
  const network = bits === 0 ? 0 : (start & (~0 << (32 - bits))) >>> 0
  // /31 (point-to-point) and /32 have no network/broadcast address to leave out.
  const first = size <= 2 ? network : network + 1
  const last = size <= 2 ? network + size - 1 : network + size - 2
  const out: string[] = []
  for (let a = first; a <= last; a++) out.push(intToIpv4(a))
  return out
}

function ipv4ToInt(text: string): number | undefined {
  if (isIP(text) !== 4) return undefined
  return text.split('.').reduce((acc, part) => acc * 256 + Number(part), 0)
}

function intToIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

function bad(item: string, why: string): UsageError {
  return new UsageError(`source address "${item}" ${why}`, [
    'give addresses (127.0.0.2,127.0.0.3), a range (127.0.0.2-127.0.0.9) or a CIDR block (127.0.0.0/30)',
  ])
}
