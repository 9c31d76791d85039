/**
 * The figures of devices that answer (issue #14, commands): runs the built CLI (bin/run.js) against a private
 * mosquitto, sends commands with MQTT.js as a backend would, and prints medians over --runs (default 3).
 *
 *   npm run build && node --import tsx perf/sim-commands.ts [idle-memory] [wildcard] [hot-path] [--runs 3] [--devices 10000]
 *
 * idle-memory  RSS per connected idle device, with every device subscribed to commands and a twin, side by side
 *              with the same fleet without them (10,000 against 10 devices, at the end of a 15 s hold).
 * wildcard     one command on a topic all devices subscribe to: time until every device's reply has arrived, and
 *              the replies counted against the devices.
 * hot-path     CPU seconds of the sim process for 1,000 devices x 10 msg/s over 20 s: a fleet that declares commands
 *              (none sent) against the same fleet without them; the ratio is the cost of the mechanism when idle.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {performance} from 'node:perf_hooks'
import {connectOnce} from '../src/net/index.js'
import {withMosquitto, type Mosquitto} from '../test/helpers/mosquitto-process.js'
import {harnessArgs, pickCases} from './harness-args.js'
import {median, cpuModel} from './run-figures.js'
import {startSampledCli} from './timed-cli.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-perf-commands-'))

const COMMANDS = `
    commands:
      - name: setpoint
        topic: "perf/{deviceId}/cmd/setpoint"
        set: {v: "$.value"}
        reply: true
      - name: ping
        topic: "perf/all/cmd/ping"
        reply: {topic: "perf/{deviceId}/pong"}
    twin: {fields: [v]}`

function scenario(name: string, count: number, every: string, withCommands: boolean): string {
  const file = join(work, `${name}.yaml`)
  writeFileSync(
    file,
    `version: 1
name: ${name}
seed: 1
broker: {protocol: 5}
connect: {rate: 100000/s}
fleets:
  - name: dev
    count: ${count}
    topic: "perf/{deviceId}/telemetry"
    every: ${every}
    jitter: 2%
    birth: {topic: "perf/{deviceId}/online", payload: "1"}
    fields:
      v: {kind: uniform, min: 0, max: 100, resolution: 0.1}${withCommands ? COMMANDS : ''}
`,
  )
  return file
}

async function simJson(args: string[]): Promise<{health: {rssBytes: number}; fleets: Array<Record<string, number>>}> {
  const r = await startSampledCli(['sim', ...args, '--json']).done
  if (r.code !== 0) throw new Error(`iotd sim ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout)
}

const mib = (b: number) => (b / 1024 / 1024).toFixed(1)
/** Every run gets a fresh broker that takes as many connections as the fleet opens. */
const withBroker = <T>(fn: (m: Mosquitto) => Promise<T>): Promise<T> => withMosquitto({maxConnections: -1}, fn)

const {options, named} = harnessArgs({runs: 3, devices: 10_000})
const {runs} = options
const DEVICES = options.devices

const cases: Record<string, () => Promise<void>> = {
  async 'idle-memory'() {
    for (const withCommands of [false, true]) {
      const perDevice: number[] = []
      for (let i = 0; i < runs; i++) {
        const hold = (count: number) => withBroker((m) => simJson([scenario(`idle${count}`, count, '1h', withCommands), '--broker', m.url, '--duration', '15s']))
        const base = await hold(10)
        const full = await hold(DEVICES)
        const kb = (full.health.rssBytes - base.health.rssBytes) / (DEVICES - 10) / 1024
        perDevice.push(kb)
        console.log(`idle-memory ${withCommands ? 'commands' : 'plain   '} run ${i + 1}: rss ${mib(base.health.rssBytes)} MiB at 10, ${mib(full.health.rssBytes)} MiB at ${DEVICES} -> ${kb.toFixed(1)} KB per device (load ${loadavg()[0].toFixed(1)})`)
      }
      console.log(`idle-memory ${withCommands ? 'with commands + twin' : 'without commands    '}: median ${median(perDevice).toFixed(1)} KB per connected idle device over ${runs} runs`)
    }
  },

  async wildcard() {
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      await withBroker(async (m) => {
        const client = await connectOnce({url: m.url, clientId: 'perf-commander', protocol: '5'})
        const online = new Set<string>()
        const pongs = new Set<string>()
        let lastPongAt = 0
        client.on('message', (topic) => {
          const id = topic.split('/')[1]
          if (topic.endsWith('/online')) online.add(id)
          else if (topic.endsWith('/pong')) {
            pongs.add(id)
            lastPongAt = performance.now()
          }
        })
        await client.subscribeAsync({'perf/+/online': {qos: 0}, 'perf/+/pong': {qos: 0}})
        const sim = startSampledCli(['sim', scenario('wildcard', DEVICES, '1h', true), '--broker', m.url, '--duration', '5m', '--json'])
        const until = async (ok: () => boolean, ms: number) => {
          const end = performance.now() + ms
          while (!ok() && performance.now() < end) await new Promise((r) => setTimeout(r, 20))
        }
        // A device subscribes before it publishes its birth: every birth seen means every subscription is in place.
        await until(() => online.size === DEVICES, 120_000)
        const sentAt = performance.now()
        client.publish('perf/all/cmd/ping', '{}', {qos: 1})
        await until(() => pongs.size === DEVICES, 60_000)
        const ms = lastPongAt - sentAt
        times.push(ms)
        console.log(`wildcard run ${i + 1}: ${pongs.size}/${DEVICES} devices answered one wildcard command, the last after ${ms.toFixed(0)} ms (load ${loadavg()[0].toFixed(1)})`)
        sim.kill('SIGINT')
        await sim.done
        await client.endAsync()
      })
    }
    console.log(`wildcard median: ${median(times).toFixed(0)} ms until all ${DEVICES} replies, over ${runs} runs`)
  },

  async 'hot-path'() {
    const cpu: Record<string, number[]> = {plain: [], commands: []}
    for (let i = 0; i < runs; i++) {
      for (const withCommands of [false, true]) {
        const key = withCommands ? 'commands' : 'plain'
        const seconds = await withBroker(async (m) => {
          const sim = startSampledCli(['sim', scenario(`hot-${key}`, 1000, '100ms', withCommands), '--broker', m.url, '--duration', '20s', '--json'])
          const r = await sim.done
          if (r.code !== 0) throw new Error(`sim exited ${r.code}: ${r.stderr.slice(-1000)}`)
          return sim.cpuSeconds()
        })
        cpu[key].push(seconds)
        console.log(`hot-path run ${i + 1} ${key.padEnd(8)}: ${seconds.toFixed(2)} CPU-s for 1,000 devices x 10 msg/s over 20 s (load ${loadavg()[0].toFixed(1)})`)
      }
    }
    const plain = median(cpu.plain)
    const withCommands = median(cpu.commands)
    console.log(`hot-path median: ${plain.toFixed(2)} CPU-s without commands, ${withCommands.toFixed(2)} with commands declared (${(((withCommands - plain) / plain) * 100).toFixed(1)} %)`)
  },
}

const chosen = pickCases(named, Object.keys(cases))
console.log(`# iotd sim commands — ${new Date().toISOString()} — node ${process.version}, ${cpuModel()}, ${runs} runs, ${DEVICES} devices`)
for (const name of chosen) await cases[name]()
