import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import mqtt from 'mqtt'
import {expect, it} from 'vitest'
import {ROOT, RUN} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

/**
 * Acceptance 4 of issue #6: scenarios/pipelines/modbus-gateway.yaml polls the simulated plant of
 * scenarios/modbus-plant.yaml and publishes to mosquitto; a subscriber sees every tag of every meter once a second;
 * killing the plant yields offline records, and starting it again online records. Both files run as shipped, with
 * their ports moved to free ones (below the ephemeral range, as the docs advise).
 */

const TAGS = ['voltage', 'current', 'power', 'energy', 'temperature', 'serial', 'breaker_closed']

describeMosquitto('the Modbus -> MQTT gateway pipeline', () => {
  it('publishes every tag of the 200 meters at 1/s, offline when the plant dies, online when it is back', async () => {
    const broker = await startMosquitto()
    const base = await freePortRun(5)
    const dir = mkdtempSync(join(tmpdir(), 'iotd-gateway-'))
    const plant = join(dir, 'plant.yaml')
    const gateway = join(dir, 'gateway.yaml')
    writeFileSync(plant, readFileSync(join(ROOT, 'scenarios/modbus-plant.yaml'), 'utf8').replace('port: 5020', `port: ${base}`).replace('port: 5030', `port: ${base + 4}`))
    let gatewayText = readFileSync(join(ROOT, 'scenarios/pipelines/modbus-gateway.yaml'), 'utf8')
    for (let k = 0; k < 4; k++) gatewayText = gatewayText.replace(`port: ${5020 + k},`, `port: ${base + k},`)
    writeFileSync(gateway, gatewayText)

    const status = new Map<string, string>()
    const readings = new Map<string, number[]>()
    const bad: string[] = []
    const sub = await mqtt.connectAsync(broker.url)
    sub.on('message', (topic, payload) => {
      const [, device, kind] = topic.split('/')
      const row = JSON.parse(payload.toString()) as Record<string, unknown>
      if (kind === 'status') status.set(device, row.status as string)
      else {
        const missing = TAGS.filter((t) => !(t in row))
        if (missing.length > 0) bad.push(`${device}: ${missing.join(',')}`)
        readings.set(device, [...(readings.get(device) ?? []), Date.now()])
      }
    })

    await sub.subscribeAsync('gateway/#', {qos: 1})

    const children: ChildProcess[] = []
    const start = (args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}) => {
      const child = spawn(process.execPath, [RUN, ...args], {cwd: ROOT, env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
      children.push(child)
      let out = ''
      return new Promise<ChildProcess>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`iotd ${args.join(' ')} did not start: ${out}`)), 30_000)
        const see = (d: Buffer) => {
          out += d.toString()
          if (ready.test(out)) {
            clearTimeout(timer)
            resolve(child)
          }
        }
        child.stdout?.on('data', see)
        child.stderr?.on('data', see)
        child.once('exit', (code) => reject(new Error(`iotd ${args.join(' ')} exited ${code}: ${out}`)))
      })
    }
    try {
      const labels = join(dir, 'labels.jsonl')
      const simArgs = ['sim', plant, '--broker', broker.url, '--duration', '10m', '--labels', labels, '--force']
      let sim = await start(simArgs, /meter listening on/)
      await start(['pipeline', 'run', gateway], /./, {IOTD_GATEWAY_BROKER: broker.url})

      // Every meter, every tag, at the configured rate: in a 5 s window each meter publishes about 5 readings.
      await waitFor(() => readings.size === 200, 20_000)
      const from = Date.now()
      await new Promise((r) => setTimeout(r, 5000))
      // The plant's own scheduled faults (no-response, latency; see its labels) legitimately thin some meters out:
      // those are left out of the rate check, and the labels say which.
      const faulted = new Set(
        readFileSync(labels, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as {deviceId: string; kind: string})
          .filter((l) => l.kind.startsWith('modbus-'))
          .map((l) => l.deviceId),
      )
      // The gateway names each meter as the plant does (meter-<port>-07, not meter-<port>-7): labels, sim ids and
      // gateway topics join on the same name.
      expect([...readings.keys()]).toContain(`meter-${base}-07`)
      expect([...faulted].filter((id) => !readings.has(id))).toEqual([])
      const counts = [...readings.entries()].filter(([device]) => !faulted.has(device)).map(([, ts]) => ts.filter((t) => t >= from && t < from + 5000).length)
      expect(bad).toEqual([])
      expect(counts.length).toBeGreaterThanOrEqual(180)
      // 1/s for 5 s; a loaded machine may delay a poll across the window's edge.
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(3)
      expect(Math.max(...counts)).toBeLessThanOrEqual(6)

      sim.kill('SIGKILL')
      await waitFor(() => [...status.values()].filter((s) => s === 'offline').length === 200, 20_000)
      sim = await start(simArgs, /meter listening on/)
      await waitFor(() => [...status.values()].filter((s) => s === 'online').length === 200, 20_000)
      expect(status.size).toBe(200)
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT')
      await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)))
      await sub.endAsync()
      await broker.stop()
    }
  }, 120_000)
})

/** n consecutive free ports below the ephemeral range (simulated devices listen there, as the docs advise). */
async function freePortRun(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000)
    let ok = true
    for (let k = 0; k < n && ok; k++) ok = await canListen(base + k)
    if (ok) return base
  }
  throw new Error('no run of free ports found')
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

async function waitFor(ok: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 100))
  }
}
