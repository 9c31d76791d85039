import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/**
 * A run of Sparkplug edge nodes only (no MQTT fleet), against a private mosquitto on which nobody publishes the
 * primary host's STATE: every sample falls due and is held, nothing is published. Such a run did nothing it was
 * asked, and says why.
 */

const dir = mkdtempSync(join(tmpdir(), 'iotd-spb-only-'))
const host = `scada${process.pid}`
const file = join(dir, 'plant.yaml')

let broker: Mosquitto

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
  })
  afterAll(async () => {
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
})
