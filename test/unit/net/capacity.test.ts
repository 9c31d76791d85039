import {describe, expect, it} from 'vitest'
import {checkConnectionCapacity, readSystemLimits, type SystemLimits} from '../../../src/net/capacity.js'

const LIMITS_FILE = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                20000                files
Max locked memory         8388608              8388608              bytes
`

const here: SystemLimits = {openFiles: {soft: 20_000, hard: 20_000}, localPortRange: {low: 32768, high: 60999}}
const local = {sourceAddresses: 1, brokerIsLocal: true, embeddedBroker: false}

describe('readSystemLimits', () => {
  it('reads the open-files limits and the port range through the injected reader', () => {
    const files: Record<string, string> = {'/proc/self/limits': LIMITS_FILE, '/proc/sys/net/ipv4/ip_local_port_range': '32768\t60999\n'}
    expect(readSystemLimits((p) => files[p])).toEqual(here)
  })

  it('reads "unlimited" as Infinity and skips what cannot be read', () => {
    const limits = readSystemLimits((p) => {
      if (p === '/proc/self/limits') return 'Max open files            1024                 unlimited            files\n'
      throw new Error('ENOENT')
    })
    expect(limits).toEqual({openFiles: {soft: 1024, hard: Infinity}})
    expect(readSystemLimits(() => { throw new Error('ENOENT') })).toEqual({})
  })
})

describe('checkConnectionCapacity', () => {
  it('passes a fleet that fits, keeping ~100 fds of headroom', () => {
    expect(checkConnectionCapacity({...local, connections: 19_900}, here)).toEqual({ok: true, problems: [], advice: []})
    expect(checkConnectionCapacity({...local, connections: 19_901}, here).ok).toBe(false)
  })

  it('says how to fix an open-files limit that is too low', () => {
    const res = checkConnectionCapacity({...local, connections: 20_000}, {openFiles: {soft: 20_000, hard: 200_000}})
    expect(res.ok).toBe(false)
    expect(res.problems).toEqual([
      '20,000 connections need more than the open-files limit of 20,000 (ulimit -n); raise it (ulimit -n 65536) or split the fleet over several iotd processes (e.g. one per --fleet)',
    ])
  })

  it('points past the hard limit when the soft limit cannot be raised enough', () => {
    const res = checkConnectionCapacity({...local, connections: 25_000}, here)
    expect(res.problems[0]).toMatch(/raise the hard limit .*20,000.* or split the fleet over several iotd processes/)
  })

  it('counts the embedded broker’s sockets too', () => {
    const res = checkConnectionCapacity({...local, connections: 12_000, embeddedBroker: true}, here)
    expect(res.ok).toBe(false)
    expect(res.problems[0]).toContain('embedded broker')
    expect(res.advice.join(' ')).toContain('own process')
    expect(checkConnectionCapacity({...local, connections: 12_000}, here).ok).toBe(true)
  })

  it('says how many source addresses a fleet needs beyond the local port range', () => {
    const limits = {localPortRange: here.localPortRange}
    const res = checkConnectionCapacity({...local, connections: 30_000}, limits)
    expect(res.problems).toEqual([
      '30,000 connections from one source address exceed the 28,232 local ports (32768–60999); add --source-ip 127.0.0.2,127.0.0.3',
    ])
    expect(checkConnectionCapacity({...local, connections: 30_000, sourceAddresses: 2}, limits).ok).toBe(true)
    const remote = checkConnectionCapacity({...local, connections: 100_000, sourceAddresses: 2, brokerIsLocal: false}, limits)
    expect(remote.problems[0]).toContain('each of 2 source addresses')
    expect(remote.advice[0]).toContain('4 source addresses are needed')
  })

  it('skips checks whose readings are unknown', () => {
    expect(checkConnectionCapacity({...local, connections: 1_000_000}, {}).ok).toBe(true)
  })
})
