import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawn} from 'node:child_process'
import mqtt from 'mqtt'
import {describe, expect, it} from 'vitest'
import {WORD_ORDERS} from '../../src/modbus/index.js'
import {RUN, ROOT, runCli} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'
import {allTypesScenario, TYPED_TAGS} from '../integration/modbus/all-types.js'

/**
 * Acceptance of issue #6 as a user runs it: `iotd sim` serves every type in every word order, and `iotd modbus
 * read` (in that order) prints what the device holds, which the scenario's MQTT mirror publishes as ground truth;
 * writes change later readings; protocol errors come back as the right exception and exit code.
 */
describe('iotd sim with modbus groups + iotd modbus read/write/scan', () => {
  it('reads back every type in every order as the mirror reports it; writes and exceptions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-modbus-e2e-'))
    const file = join(dir, 'all-types.yaml')
    writeFileSync(file, allTypesScenario({every: '1h', mirror: true}))
    const brokerPort = await freePort()
    const sim = spawn(process.execPath, [RUN, 'sim', file, '--duration', '10m'], {cwd: ROOT, env: {...process.env, IOTD_DEFAULT_BROKER: `mqtt://127.0.0.1:${brokerPort}`}, stdio: ['ignore', 'pipe', 'pipe']})
    let stderr = ''
    const ports = new Map<string, number>()
    // The broker the sim says it uses: freePort's port can be taken by another test between the check and the sim's
    // listen, and the sim then starts its embedded broker on another port (and says which).
    let brokerUrl: string | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sim did not start: ${stderr}`)), 30_000)
        sim.stderr.on('data', (d: Buffer) => {
          stderr += d.toString()
          // OS-assigned ports print as "ports a,b", or "a-b" when they happen to be consecutive.
          for (const m of stderr.matchAll(/modbus: (\w+) listening on 127\.0\.0\.1(?: ports |:)(\d+)/g)) ports.set(m[1], Number(m[2]))
          const said = /(?:embedded broker \(aedes, MQTT 3\.1\.1\) on mqtt:\/\/|using the MQTT broker at )([\d.]+:\d+)/.exec(stderr)
          if (said) brokerUrl ??= `mqtt://${said[1]}`
          if (ports.size === 4 && brokerUrl) {
            clearTimeout(timer)
            resolve()
          }
        })
        sim.once('exit', (code) => reject(new Error(`sim exited ${code}: ${stderr}`)))
      })

      // Ground truth: the mirror's retained messages, unit 2 of the first listener of each group.
      const truth = new Map<string, Record<string, unknown>>()
      const client = await mqtt.connectAsync(brokerUrl!)
      // The handler goes first: retained messages can arrive in the same read as the SUBACK.
      client.on('message', (topic, payload) => truth.set(topic.split('/')[1], JSON.parse(payload.toString())))
      await client.subscribeAsync('truth/+/0/2')
      await waitFor(() => truth.size === 4)
      await client.endAsync()

      const reads = WORD_ORDERS.flatMap((order) => TYPED_TAGS.map((t) => ({order, t})))
      await inBatches(reads, 6, async ({order, t}) => {
        const group = order.toLowerCase()
        const args = ['modbus', 'read', `127.0.0.1:${ports.get(group)}`, '--unit', '2', '--table', 'holding', '--address', String(t.address), '--type', t.type, '--order', order, '--json']
        if ('length' in t) args.push('--length', String(t.length))
        if ('scale' in t) args.push('--scale', String(t.scale))
        const r = await runCli(args)
        if (process.env.IOTD_TEST_DEBUG) process.stderr.write(`${order} ${t.name} ${r.code}\n`)
        expect(r.code, r.stderr).toBe(0)
        const got = JSON.parse(r.stdout).values[0].values[order]
        expect(got, `${order} ${t.name}`).toEqual(truth.get(group)?.[t.name])
      })

      // A float32 setpoint written in CDAB drives `flow` (= valve_cmd × 2) at the next update; every: 1h, so the
      // test waits for no update: the written value itself reads back at once, and the input register is unchanged.
      const cdab = `127.0.0.1:${ports.get('cdab')}`
      const w = await runCli(['modbus', 'write', cdab, '--unit', '1', '--address', '40041', '--type', 'float32', '--order', 'CDAB', '--value', '12.5'])
      expect(w.code, w.stderr).toBe(0)
      expect(w.stdout).toMatch(/function 16/)
      const back = await runCli(['modbus', 'read', cdab, '--unit', '1', '--address', '40041', '--type', 'float32', '--order', 'CDAB', '--json'])
      expect(JSON.parse(back.stdout).values[0].values.CDAB).toBe(12.5)

      const unmapped = await runCli(['modbus', 'read', cdab, '--unit', '1', '--address', '40030', '--count', '5'])
      expect(unmapped.code).toBe(1)
      expect(unmapped.stderr).toMatch(/exception 2 \(illegal data address\)/)
      const readOnly = await runCli(['modbus', 'write', cdab, '--unit', '1', '--address', '40001', '--value', '7'])
      expect(readOnly.stderr).toMatch(/exception 2/)
      const unknown = await runCli(['modbus', 'read', cdab, '--unit', '9', '--address', '40001'])
      expect(unknown.stderr).toMatch(/exception 11/)
      expect(unknown.stderr).toMatch(/iotd modbus scan/)

      const scan = await runCli(['modbus', 'scan', cdab, '--units', '1-10', '--json'])
      expect(JSON.parse(scan.stdout).responding.map((h: {unit: number}) => h.unit)).toEqual([1, 2, 3])
      const bad = await runCli(['modbus', 'read', cdab, '--address', '100'])
      expect(bad.code).toBe(2)
      expect(bad.stderr).toMatch(/needs --table/)
    } finally {
      if (sim.exitCode === null) {
        sim.kill('SIGINT')
        await new Promise((r) => sim.once('exit', r))
      }
    }
    expect(stderr).toMatch(/modbus: 24 devices answered \d+ requests/)
  }, 240_000)

  it('a usage error points at the help of the command as it is typed (modbus read, not modbus:read)', async () => {
    const bad = await runCli(['modbus', 'read', '127.0.0.1:1', '--no-such-flag'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('Try: iotd modbus read --help')
    expect(bad.stderr).not.toContain('modbus:read')
  }, 60_000)
})

async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!ok()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function inBatches<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += n) await Promise.all(items.slice(i, i + n).map(fn))
}
