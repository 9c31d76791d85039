/**
 * `iotd sim ... --out influxdb=URL` with InfluxDB down: the run ends with exit 1 (a peer that is down, not a usage
 * error) after the retries it announces, saying "connection refused", and never prints the InfluxDB password.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-influx-down-'))
const scenario = join(dir, 's1.yaml')
writeFileSync(scenario, 'version: 1\nname: s1\nseed: 1\nfleets:\n  - {name: m, count: 10, id: "m-{index}", topic: "s1/{deviceId}", every: 1s, fields: {v: {kind: uniform, min: 0, max: 1}}}\n')

/** A port nothing listens on: the OS hands one out, and it is closed again. */
async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok))
  const {port} = s.address() as {port: number}
  await new Promise<void>((ok) => s.close(() => ok()))
  return port
}

it('sim --out influxdb= with InfluxDB down: exit 1 after retries, "connection refused", no password (plain and --json)', {timeout: 90_000}, async () => {
  const port = await freePort()
  const env = {IOTD_INFLUX_USERNAME: 'admin', IOTD_INFLUX_PASSWORD: 'InfPw57'}
  const args = ['sim', scenario, '--duration', '2s', '--out', `influxdb=http://127.0.0.1:${port}/iotd`]
  const plain = await runCli(args, {env})
  expect(plain.code, plain.stderr).toBe(1)
  expect(plain.stderr).toMatch(/influxdb check 1\/5 failed \(connection refused/)
  expect(plain.stderr).toContain(`gave up reaching InfluxDB at http://127.0.0.1:${port} after 5 attempts: connection refused`)
  const json = await runCli([...args, '--json'], {env})
  expect(json.code, json.stderr).toBe(1)
  expect((JSON.parse(json.stdout) as {error: {exitCode: number; message: string}}).error).toMatchObject({exitCode: 1, message: expect.stringContaining('connection refused') as unknown})
  for (const r of [plain, json]) expect(r.stdout + r.stderr).not.toContain('InfPw57')
})
