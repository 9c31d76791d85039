/**
 * Issue #14, acceptance 8: three shards of a 3,000-device scenario, run as the Kubernetes Indexed Job in
 * deploy/k8s/sim-indexed-job.yaml runs them (its own arguments, JOB_COMPLETION_INDEX 0..2), publish exactly the
 * devices of one unsharded run, none twice, each with the same first payload — counted by a subscriber that is
 * not ours (mosquitto_sub) at a real mosquitto.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {ROOT, runCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'

const DEVICES = 3000

interface Seen {
  /** deviceId -> payloads in arrival order */
  byDevice: Map<string, string[]>
  messages: number
}

/** mosquitto_sub on the fleet's topics, until stop(): what arrived per device. */
function subscribe(broker: Mosquitto, prefix: string): {ready: Promise<void>; settle: (expected: number) => Promise<void>; stop: () => Promise<Seen>} {
  const sub: ChildProcess = spawn('mosquitto_sub', ['-h', broker.host, '-p', String(broker.port), '-q', '1', '-t', `${prefix}/#`, '-F', '%t %p'], {stdio: ['ignore', 'pipe', 'pipe']})
  let out = ''
  sub.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  // Subscribed once a probe published after it arrives (mosquitto_sub flushes each message it prints).
  const ready = (async () => {
    const deadline = Date.now() + 20_000
    while (!out.includes(`${prefix}/probe `) && Date.now() < deadline) {
      spawn('mosquitto_pub', ['-h', broker.host, '-p', String(broker.port), '-t', `${prefix}/probe`, '-m', 'x'], {stdio: 'ignore'})
      await new Promise((r) => setTimeout(r, 250))
    }
    if (!out.includes(`${prefix}/probe `)) throw new Error(`mosquitto_sub on ${prefix}/# never saw a probe`)
  })()
  const device = new RegExp(`^${prefix}/(m\\d{4}) (.*)$`)
  const received = () => out.split('\n').filter((l) => device.test(l)).length
  return {
    ready,
    // The broker may still be delivering the last acknowledged messages when the publishers exit.
    settle: async (expected) => {
      const deadline = Date.now() + 10_000
      while (received() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    },
    stop: async () => {
      sub.kill('SIGTERM')
      await new Promise((r) => sub.once('exit', r))
      const byDevice = new Map<string, string[]>()
      let messages = 0
      for (const line of out.split('\n')) {
        const m = device.exec(line)
        if (!m) continue
        messages++
        byDevice.set(m[1], [...(byDevice.get(m[1]) ?? []), m[2]])
      }
      return {byDevice, messages}
    },
  }
}

describeMosquitto('sim shards', () => {
  let broker: Mosquitto
  let dir: string
  beforeAll(async () => {
    broker = await startMosquitto()
    dir = mkdtempSync(join(tmpdir(), 'iotd-shards-'))
  })
  afterAll(async () => {
    await broker?.stop()
  })

  const scenarioFile = (prefix: string) => {
    const file = join(dir, `${prefix}.yaml`)
    writeFileSync(
      file,
      `version: 1
seed: 1
connect: {rate: 2000/s}
fleets:
  - name: meter
    count: ${DEVICES}
    id: "m{index:04}"
    topic: "${prefix}/{deviceId}"
    every: 5s
    qos: 1
    fields:
      n: {kind: counter}
      power: {kind: gaussian, mean: 3, stddev: 0.5, resolution: 0.001}
`,
    )
    return file
  }

  /** Each device's first payload (counter n = 0), and how often each (device, n) arrived. */
  const firsts = (seen: Seen) => new Map([...seen.byDevice].map(([id, payloads]) => [id, payloads.find((p) => JSON.parse(p).n === 0)]))
  const duplicates = (seen: Seen) =>
    [...seen.byDevice].flatMap(([id, payloads]) => {
      const ns = payloads.map((p) => JSON.parse(p).n as number)
      return ns.length === new Set(ns).size ? [] : [id]
    })

  it('three shards run by the manifest publish exactly the devices of one unsharded run, none twice', async () => {
    // One unsharded run first: the devices and first payloads the shards must reproduce. 25 s, so that on a loaded
    // machine (connecting all 3,000 took 8 s once) every device publishes a few messages.
    const whole = scenarioFile('whole')
    const subWhole = subscribe(broker, 'whole')
    await subWhole.ready
    const one = await runCli(['sim', whole, '--broker', broker.url, '--duration', '25s', '--json', '--quiet'], {timeoutMs: 120_000})
    expect(one.code, one.stderr).toBe(0)
    await subWhole.settle((JSON.parse(one.stdout.slice(one.stdout.indexOf('{'))) as {totals: {acked: number}}).totals.acked)
    const unsharded = await subWhole.stop()
    expect(unsharded.byDevice.size, `${one.stdout.slice(0, 1500)} received ${unsharded.messages}`).toBe(DEVICES)

    // The manifest's arguments, with this test's scenario, broker and length.
    const job = parseYaml(readFileSync(join(ROOT, 'deploy/k8s/sim-indexed-job.yaml'), 'utf8')) as {
      spec: {completionMode: string; completions: number; template: {spec: {containers: Array<{args: string[]}>}}}
    }
    expect(job.spec.completionMode).toBe('Indexed')
    const shards = job.spec.completions
    expect(shards).toBe(3)
    const sharded = scenarioFile('sharded')
    const override: Record<string, string> = {'--broker': broker.url, '--duration': '25s', '--seed': '1'}
    const args = job.spec.template.spec.containers[0].args.map((a) => {
      if (a === '/scenario/fleet.yaml') return sharded
      const name = a.split('=')[0]
      return name in override ? `${name}=${override[name]}` : a
    })
    expect(args).toContain(`--shards=${shards}`)
    const subShards = subscribe(broker, 'sharded')
    await subShards.ready
    const runs = await Promise.all(Array.from({length: shards}, (_, i) => runCli([...args, '--quiet'], {env: {JOB_COMPLETION_INDEX: String(i)}, timeoutMs: 120_000})))
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const summaries = runs.map((r) => JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as {devices: number; totals: {published: number; acked: number}; shard?: {index: number; count: number}})
    await subShards.settle(summaries.reduce((n, s) => n + s.totals.acked, 0))
    const seen = await subShards.stop()

    // Every device of the unsharded run, and no other; no message twice.
    expect([...seen.byDevice.keys()].sort()).toEqual([...unsharded.byDevice.keys()].sort())
    expect(duplicates(seen)).toEqual([])
    expect(duplicates(unsharded)).toEqual([])
    // The same streams: each device's first payload is the one the unsharded run published.
    expect(firsts(seen)).toEqual(firsts(unsharded))

    // Each shard ran a third of the devices; their summaries add up to what the subscriber counted.
    expect(summaries.map((s) => s.devices)).toEqual([1000, 1000, 1000])
    expect(summaries.map((s) => s.shard)).toEqual([0, 1, 2].map((index) => ({index, count: 3})))
    expect(summaries.reduce((n, s) => n + s.totals.acked, 0)).toBe(seen.messages)
    // `iotd sim merge` adds the shards' summaries up to the whole fleet's.
    const files = runs.map((r, i) => {
      const file = join(dir, `sim-shard-${i}.json`)
      writeFileSync(file, r.stdout)
      return file
    })
    const merged = await runCli(['sim', 'merge', ...files, '--json'])
    expect(merged.code, merged.stderr).toBe(0)
    const fleet = JSON.parse(merged.stdout) as {devices: number; totals: {acked: number}; mergedShards: unknown; fleets: Array<{fleet: string; target: number}>; thresholds?: Array<{threshold: string; ok: boolean}>}
    // The Job's thresholds, judged again on the whole fleet.
    expect(fleet.thresholds?.map((v) => [v.threshold, v.ok])).toEqual([
      ['connected>=100%', true],
      ['delivered>=99.9%', true],
    ])
    expect(fleet.devices).toBe(DEVICES)
    expect(fleet.totals.acked).toBe(seen.messages)
    expect(fleet.mergedShards).toEqual({merged: 3, of: 3})
    expect(fleet.fleets).toMatchObject([{fleet: 'meter', target: DEVICES}])
    const again = await runCli(['sim', 'merge', files[0], files[0]])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain('shard 1/3 is given twice')

    // And each shard published the devices `iotd sim registry --shard` lists for it.
    const registry = await runCli(['sim', 'registry', sharded, '--shard', '2/3', '--format', 'jsonl'])
    expect(registry.code, registry.stderr).toBe(0)
    const listed = registry.stdout.trim().split('\n').map((l) => JSON.parse(l).deviceId as string)
    expect(listed).toHaveLength(1000)
    expect(listed.slice(0, 3)).toEqual(['m0001', 'm0004', 'm0007'])
  }, 300_000)
})
