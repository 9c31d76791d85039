import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {MqttClient} from 'mqtt'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/**
 * A run of Sparkplug edge nodes only (no MQTT fleet), against a private mosquitto on which nobody publishes the
 * primary host's STATE: every sample falls due and is held, nothing is published. Such a run did nothing it was
 * asked, and says why. With the host online, the edge nodes' sessions and messages are the run's totals: what an
 * independent subscriber receives, what the progress lines end at, what the thresholds judge.
 */

const dir = mkdtempSync(join(tmpdir(), 'iotd-spb-only-'))
const host = `scada${process.pid}`
const file = join(dir, 'plant.yaml')
/** The same edge nodes under a primary host that is online (its retained STATE published by the test, as a host would). */
const onlineHost = `scada-on${process.pid}`
const onlineGroup = `plant-on-${process.pid}`
const onlineFile = join(dir, 'online.yaml')
/** An MQTT fleet beside the edge nodes. */
const mixedFile = join(dir, 'mixed.yaml')

let broker: Mosquitto
let watcher: MqttClient
/** Topics an independent subscriber received on spBv1.0/# and mixed/#, in order. */
const received: string[] = []

const sparkplugSection = (group: string, primaryHost: string) => `sparkplug:
  - name: press
    group: ${group}
    nodes: 2
    devices: 2
    every: 200ms
    primaryHost: ${primaryHost}
    metrics:
      - {name: T, type: Float, value: {kind: gaussian, mean: 20, stddev: 1}}
`

interface Totals {
  target: number
  connected: number
  published: number
  acked: number
  bytes: number
  errors: number
}

interface Summary {
  totals: Totals
  fleets: Array<Totals & {fleet: string}>
  delivered: number
  devices: number
  sparkplug: {groups: Array<{name: string; published: number; bytes: number; acked: number; nodeDeaths: number}>}
  thresholds?: Array<{threshold: string; ok: boolean}>
}

/** Messages the subscriber received on topics under `prefix`, once they stop coming (the NDEATHs follow the run). */
async function receivedUnder(prefix: string, atLeast: number): Promise<number> {
  const count = () => received.filter((t) => t.startsWith(prefix)).length
  await expect.poll(count, {timeout: 5000}).toBeGreaterThanOrEqual(atLeast)
  await new Promise((resolve) => setTimeout(resolve, 300))
  return count()
}

/** `sim 2s/3s  steady  2/2 connected  20.0 msg/s  40 published ...`: the figures of each plain progress line. */
function progressLines(stderr: string): Array<{text: string; connected: string; published: number}> {
  return stderr.split('\n').filter((l) => l.startsWith('sim ')).map((text) => {
    const m = /^sim \S+ .*?(\d+\/\d+) connected +[\d.,]+ msg\/s {2}([\d,]+) published/.exec(text)
    if (!m) throw new Error(`not a progress line: ${text}`)
    return {text, connected: m[1], published: Number(m[2].replaceAll(',', ''))}
  })
}

describeMosquitto('sim with Sparkplug edge nodes only', () => {
  beforeAll(async () => {
    broker = await startMosquitto()
    writeFileSync(
      file,
      `version: 1
name: spb-only
seed: 3
sparkplug:
  - name: press
    group: plant-${process.pid}
    nodes: 2
    devices: 1
    every: 200ms
    primaryHost: ${host}
    metrics:
      - {name: T, type: Float, value: {kind: gaussian, mean: 20, stddev: 1}}
`,
    )
    writeFileSync(onlineFile, `version: 1\nname: spb-online\nseed: 3\n${sparkplugSection(onlineGroup, onlineHost)}`)
    writeFileSync(
      mixedFile,
      `version: 1\nname: spb-mixed\nseed: 3\nfleets:\n  - name: meters\n    count: 3\n    topic: "mixed-${process.pid}/{deviceId}"\n    every: 500ms\n    fields:\n      v: 1\n${sparkplugSection(`${onlineGroup}-mixed`, onlineHost)}`,
    )
    watcher = await connectOnce({url: broker.url, clientId: `spb-only-watch-${process.pid}`})
    watcher.on('message', (topic) => received.push(topic))
    await watcher.subscribeAsync(['spBv1.0/#', `mixed-${process.pid}/#`], {qos: 1})
    await watcher.publishAsync(`spBv1.0/STATE/${onlineHost}`, JSON.stringify({online: true, timestamp: Date.now()}), {qos: 1, retain: true})
  })
  afterAll(async () => {
    await watcher?.endAsync()
    await broker?.stop()
  })

  it('exits 1 naming the primary host that never came online, when every sample was held and nothing published', {timeout: 60_000}, async () => {
    const result = await runCli(['sim', file, '--broker', broker.url, '--duration', '1500ms'], {timeoutMs: 30_000})
    expect(result.code, result.stdout + result.stderr).toBe(1)
    const cause = new RegExp(`primary host ${host} never came online \\(no STATE online on spBv1\\.0/STATE/${host}\\): \\d+ samples held, nothing published`)
    expect(result.stdout).toMatch(cause)
    expect(result.stdout).toMatch(/✗ nothing was published/)
    expect(result.stderr).toMatch(cause)
    // The closing error speaks of edge nodes and the host's STATE, not of MQTT devices whose connections dropped.
    expect(result.stderr).toMatch(/Error: the Sparkplug edge nodes connected to .* but published nothing: their samples were held/)
    expect(result.stderr).toMatch(/Try: publish the primary host's STATE online/)
    expect(result.stderr).not.toContain('did not stay up')
  })

  it('--json: publishedNothing, the cause among the warnings, exit 1', {timeout: 60_000}, async () => {
    const result = await runCli(['sim', file, '--broker', broker.url, '--duration', '1500ms', '--json'], {timeoutMs: 30_000})
    expect(result.code, result.stderr).toBe(1)
    const summary = JSON.parse(result.stdout) as {publishedNothing?: boolean; neverConnected: boolean; warnings: string[]; sparkplug: {groups: Array<{held: number; published: number; sessions: number}>}}
    expect(summary.neverConnected).toBe(false)
    expect(summary.publishedNothing).toBe(true)
    expect(summary.sparkplug.groups[0]).toMatchObject({published: 0, sessions: 2})
    expect(summary.sparkplug.groups[0].held).toBeGreaterThan(0)
    expect(summary.warnings.join('\n')).toMatch(`primary host ${host} never came online`)
  })

  it('--json: the client\'s CPU and event-loop lag are measured, not written as 0', {timeout: 60_000}, async () => {
    const result = await runCli(['sim', file, '--broker', broker.url, '--duration', '1500ms', '--json'], {timeoutMs: 30_000})
    const summary = JSON.parse(result.stdout) as {health: {cpuPercent: number; eventLoopLagP99Ms: number; rssBytes: number; peakRssBytes: number}}
    // A Node process that ran 1.5 s with timers every 200 ms used some CPU, and its event loop's delay histogram
    // (10 ms resolution) has a p99 above 0.
    expect(summary.health.cpuPercent).toBeGreaterThan(0)
    expect(summary.health.eventLoopLagP99Ms).toBeGreaterThan(0)
    expect(summary.health.peakRssBytes).toBeGreaterThanOrEqual(summary.health.rssBytes)
  })

  it('--json: the edge nodes\' sessions and messages are the totals: published = what a subscriber received = the groups\' sum, connected = edge nodes, thresholds judge them', {timeout: 60_000}, async () => {
    const result = await runCli(['sim', onlineFile, '--broker', broker.url, '--duration', '2s', '--json', '--threshold', 'connected>=100%', '--threshold', 'delivered>=99%', '--threshold', 'errors==0'], {timeoutMs: 30_000})
    expect(result.code, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout) as Summary
    const [group] = summary.sparkplug.groups
    // 2 NBIRTHs and 4 DBIRTHs at least, then data every 200 ms, DDEATHs and NDEATHs at the stop.
    expect(group.published).toBeGreaterThanOrEqual(12)
    const heard = await receivedUnder(`spBv1.0/${onlineGroup}/`, group.published)
    expect(summary.totals.published).toBe(heard)
    expect(summary.totals.published).toBe(group.published)
    expect(summary.totals.bytes).toBe(group.bytes)
    // The NDEATHs go at QoS 1 and were acknowledged; everything else is QoS 0, delivered once written.
    expect(summary.totals.acked).toBe(group.nodeDeaths)
    expect(group.nodeDeaths).toBe(2)
    expect(summary.delivered).toBe(summary.totals.published)
    expect(summary.totals).toMatchObject({target: 2, connected: 2, errors: 0})
    expect(summary.fleets).toEqual([expect.objectContaining({fleet: 'press', published: summary.totals.published, target: 2, connected: 2})])
    expect(summary.thresholds?.map((t) => t.ok)).toEqual([true, true, true])
  })

  it('the progress lines (stderr into a pipe) end at the totals, and the fleet table\'s total row is the edge nodes\'', {timeout: 60_000}, async () => {
    const result = await runCli(['sim', onlineFile, '--broker', broker.url, '--duration', '2500ms'], {timeoutMs: 30_000})
    expect(result.code, result.stderr).toBe(0)
    const published = Number(/^ {2}total +(\S+) +([\d,]+)/m.exec(result.stdout)?.[2].replaceAll(',', ''))
    expect(result.stdout).toMatch(/^ {2}total +2\/2 +/m)
    const sparkplugLine = /sparkplug +press .*?(\d+) NBIRTHs, (\d+) DBIRTHs, (\d+) NDATAs?, (\d+) DDATAs?, (\d+) DDEATHs?, (\d+) NDEATHs?/.exec(result.stdout)
    expect(sparkplugLine, result.stdout).not.toBeNull()
    expect(published).toBe(sparkplugLine!.slice(1).reduce((a, n) => a + Number(n), 0))
    const lines = progressLines(result.stderr)
    expect(lines.length, result.stderr).toBeGreaterThanOrEqual(2)
    expect(lines[0].published, result.stderr).toBeGreaterThan(0)
    expect(lines.every((l, i) => i === 0 || l.published >= lines[i - 1].published)).toBe(true)
    expect(lines.at(-1)!.published, result.stderr).toBe(published)
    expect(lines.at(-1)!.connected).toBe('2/2')
    expect(lines.at(-1)!.text).toMatch(/ run ended$/)
  })

  it('an MQTT fleet beside the edge nodes: the totals are the fleet\'s and the edge nodes\' together, each as a subscriber counted them', {timeout: 60_000}, async () => {
    const result = await runCli(['sim', mixedFile, '--broker', broker.url, '--duration', '2s', '--json', '--threshold', 'connected>=100%'], {timeoutMs: 30_000})
    expect(result.code, result.stderr).toBe(0)
    const summary = JSON.parse(result.stdout) as Summary
    const meters = summary.fleets.find((f) => f.fleet === 'meters')!
    const press = summary.fleets.find((f) => f.fleet === 'press')!
    expect(press.published).toBe(summary.sparkplug.groups[0].published)
    expect(summary.totals.published).toBe(meters.published + press.published)
    expect(summary.totals).toMatchObject({target: 5, connected: 5})
    expect(await receivedUnder(`spBv1.0/${onlineGroup}-mixed/`, press.published)).toBe(press.published)
    expect(await receivedUnder(`mixed-${process.pid}/`, meters.published)).toBe(meters.published)
    expect(summary.delivered).toBe(summary.totals.published)
    expect(summary.thresholds?.[0].ok).toBe(true)
  })
})
