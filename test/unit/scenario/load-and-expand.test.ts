import {describe, expect, it} from 'vitest'
import {ConfigError, UsageError} from '../../../src/errors.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

const load = (text: string, env: NodeJS.ProcessEnv = {}) => loadScenario('/tmp/scn/plant.yaml', {text, env})

const BASE = `
version: 1
seed: 1
fleets:
  - name: press
    count: 6
    vars:
      site: {cycle: [berlin, austin]}
      line: {block: [l1, l2, l3]}
      vendor: "acme-{site}"
    topic: "{vendor}/{site}/{line}/{deviceId}"
    every: 2s
    jitter: 5%
    birth: {topic: "{site}/{deviceId}/status", payload: '{"online":true,"id":"{deviceId}"}', qos: 1, retain: true}
    fields: {a: 1}
`

describe('loadScenario', () => {
  it('normalises units and fills defaults', () => {
    const s = load(`${BASE}
duration: 1h30m
broker: {url: "mqtt://localhost:1883", keepalive: 45s, password: "\${env:PW}", tls: {ca: certs/ca.pem, cert: /abs/c.pem}}
connect: {over: 10s}
stages:
  - ramp: {to: 50%, over: 30s}
  - steady: {for: 2m}
  - storm: {drop: 30%}
`.replace('seed: 1\n', 'seed: 1\n'), {PW: 'secret'})
    expect(s.durationMs).toBe(5_400_000)
    expect(s.broker).toMatchObject({url: 'mqtt://localhost:1883', keepalive: 45_000, password: 'secret', protocol: '3.1.1', clientId: '{deviceId}'})
    expect(s.broker.tls).toEqual({ca: '/tmp/scn/certs/ca.pem', cert: '/abs/c.pem', key: undefined})
    expect(s.connect).toEqual({over: 10_000, timeout: 10_000, pending: 100})
    expect(s.reconnect).toEqual({initial: 1000, max: 30_000, multiplier: 2, jitter: 'full'})
    expect(s.stages).toEqual([
      {kind: 'ramp', to: 0.5, over: 30_000},
      {kind: 'steady', for: 120_000},
      {kind: 'storm', drop: 0.3},
    ])
    expect(s.fleets[0]).toMatchObject({every: 2000, jitter: {ofEvery: 0.05}, qos: 0, session: 'clean', inflight: 16, payload: {format: 'json'}})
  })

  it('fills a seed when the file has none, and keeps the one it has', () => {
    const s = load(BASE.replace('seed: 1\n', ''))
    expect(Number.isInteger(s.seed)).toBe(true)
    expect(load(BASE).seed).toBe(1)
  })

  it('reports every problem of the file at once', () => {
    let error: ConfigError | undefined
    try {
      load(BASE.replace('count: 6', 'count: 0').replace('every: 2s', 'every: soon').replace('fields: {a: 1}', 'fields: {a: 1}\n    colour: red'))
    } catch (e) {
      error = e as ConfigError
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error?.problems.map((p) => p.line)).toEqual([6, 12, 16])
    expect(error?.message).toContain('/tmp/scn/plant.yaml:6:12: fleets[0].count: count must be at least 1')
  })
})

describe('expandDevices', () => {
  it('renders ids, topics, vars (cycle and block) and messages', () => {
    const devices = expandDevices(load(BASE))
    expect(devices.map((d) => d.deviceId)).toEqual(['press-0000', 'press-0001', 'press-0002', 'press-0003', 'press-0004', 'press-0005'])
    expect(devices.map((d) => d.vars.site)).toEqual(['berlin', 'austin', 'berlin', 'austin', 'berlin', 'austin'])
    expect(devices.map((d) => d.vars.line)).toEqual(['l1', 'l1', 'l2', 'l2', 'l3', 'l3'])
    expect(devices[1].topic).toBe('acme-austin/austin/l1/press-0001')
    expect(devices[1].birth).toEqual({topic: 'austin/press-0001/status', payload: '{"online":true,"id":"press-0001"}', qos: 1, retain: true})
    expect(devices[1]).toMatchObject({fleet: 'press', index: 1, clientId: 'press-0001', everyMs: 2000, jitterMs: 100, cleanSession: true, inflight: 16})
  })

  it('spreads phases over [0, every) deterministically and keeps ids unique', () => {
    const s = load(BASE.replace('count: 6', 'count: 500'))
    const devices = expandDevices(s)
    expect(devices.every((d) => d.phaseMs >= 0 && d.phaseMs < 2000)).toBe(true)
    expect(new Set(devices.map((d) => d.phaseMs)).size).toBeGreaterThan(300)
    expect(new Set(devices.map((d) => d.deviceId)).size).toBe(500)
    expect(expandDevices(s)).toEqual(devices)
    expect(expandDevices({...s, seed: 2}).map((d) => d.phaseMs)).not.toEqual(devices.map((d) => d.phaseMs))
  })

  it('selects fleets by name and rejects unknown names', () => {
    const s = load(`${BASE}  - name: other\n    count: 2\n    topic: "o/{deviceId}"\n    every: 1s\n    fields: {b: 2}\n`)
    expect(expandDevices(s, {fleets: ['other']}).map((d) => d.deviceId)).toEqual(['other-0000', 'other-0001'])
    expect(() => expandDevices(s, {fleets: ['nope']})).toThrow(UsageError)
  })

  it('assigns {block, size} vars by index alone, so the fleet size does not move devices between blocks', () => {
    const text = (count: number) => BASE.replace('count: 6', `count: ${count}`).replace('line: {block: [l1, l2, l3]}', 'line: {block: [l1, l2, l3], size: 2}')
    expect(expandDevices(load(text(7))).map((d) => d.vars.line)).toEqual(['l1', 'l1', 'l2', 'l2', 'l3', 'l3', 'l1'])
    expect(expandDevices(load(text(3))).map((d) => d.vars.line)).toEqual(['l1', 'l1', 'l2'])
  })

  it('rejects size on a cycle var and a size below 1', () => {
    expect(() => load(BASE.replace('line: {block: [l1, l2, l3]}', 'line: {cycle: [l1, l2], size: 2}'))).toThrow(/size/)
    expect(() => load(BASE.replace('line: {block: [l1, l2, l3]}', 'line: {block: [l1, l2], size: 0}'))).toThrow(/size/)
  })

  it('keeps MQTT 5 persistent sessions alive for an hour by default (expiry 0 would end them at disconnect)', () => {
    const fleet = (extra: string) => BASE.replace('every: 2s', `every: 2s\n    ${extra}`)
    const v5 = (extra: string) => expandDevices(load(`${fleet(extra)}broker: {protocol: "5"}\n`))[0]
    expect(v5('session: persistent').sessionExpiryMs).toBe(3_600_000)
    expect(v5('session: persistent\n    sessionExpiry: 10m').sessionExpiryMs).toBe(600_000)
    expect(v5('session: clean').sessionExpiryMs).toBeUndefined()
    expect(expandDevices(load(fleet('session: persistent')))[0].sessionExpiryMs).toBeUndefined()
  })

  it('rejects a wildcard that a var brings into rendered topics, once per topic, at the placeholder', () => {
    let error: ConfigError | undefined
    try {
      load(BASE.replace('site: {cycle: [berlin, austin]}', 'site: {cycle: [berlin, "a#b"]}'))
    } catch (e) {
      error = e as ConfigError
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect(error?.message.split('\n')).toEqual([
      '/tmp/scn/plant.yaml:11:13: fleets[0].topic: topic of device press-0001 renders as "acme-a#b/a#b/l1/press-0001", which contains "#" (from {vendor}): wildcards (+, #) are for subscribing; a device cannot publish to them',
      '/tmp/scn/plant.yaml:14:21: fleets[0].birth.topic: topic of device press-0001 renders as "a#b/press-0001/status", which contains "#" (from {site}): wildcards (+, #) are for subscribing; a device cannot publish to them',
    ])
  })

  it('rejects device ids that collide across fleets', () => {
    const text = `${BASE}  - name: other\n    count: 2\n    id: "press-{index:04}"\n    topic: "o/{deviceId}"\n    every: 1s\n    fields: {b: 2}\n`
    expect(() => load(text)).toThrow(/device id "press-0000" is produced twice/)
  })

  it('rejects a Sparkplug section named as a fleet: its name labels its row among the fleets', () => {
    const sparkplug = (name: string) => `${BASE}sparkplug:\n  - name: ${name}\n    nodes: 1\n    every: 1s\n    metrics:\n      - {name: T, type: Float, value: 1}\n`
    expect(() => load(sparkplug('press'))).toThrow(/sparkplug\[0\]\.name: duplicate name "press" \(also fleets\[0\]\)/)
    expect(load(sparkplug('line')).sparkplug[0].name).toBe('line')
  })
})
