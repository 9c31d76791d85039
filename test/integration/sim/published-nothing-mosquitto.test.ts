import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, expect, it} from 'vitest'
import {connectOnce} from '../../../src/net/index.js'
import {runCli} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../../helpers/mosquitto.js'

/**
 * A run whose devices connected but never stayed up long enough to publish did nothing it was asked: it must not
 * exit 0, and its summary must not say all is well. Here a retained reboot command, left on the broker, reboots the
 * device at every connect (real mosquitto, the CLI as a user runs it).
 */

const dir = mkdtempSync(join(tmpdir(), 'iotd-published-nothing-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describeMosquitto('a run that published nothing', () => {
  it('a device rebooted by a retained command at every connect: exit 1, "nothing was published"; without the command: exit 0', {timeout: 90_000}, async () => {
    const broker = await startMosquitto()
    try {
      const file = join(dir, 'reboot-loop.yaml')
      writeFileSync(
        file,
        // Seed 1 puts the device's first message 1,756 ms of its 2 s period after each connect: the retained command
        // arrives and reboots it long before, however loaded the machine (with a random seed a short phase let one
        // message out per connect).
        `version: 1
seed: 1
fleets:
  - name: rt
    count: 1
    id: "rt{index}"
    topic: "loop/{deviceId}/tele"
    every: 2s
    fields: {v: 1}
    commands:
      - {topic: "loop/{deviceId}/cmd/reboot", reboot: 1s}
`,
      )
      const sender = await connectOnce({url: broker.url, clientId: 'retained-reboot'})
      await sender.publishAsync('loop/rt0/cmd/reboot', '{}', {qos: 1, retain: true})
      const looped = await runCli(['sim', file, '--broker', broker.url, '--duration', '6s'], {timeoutMs: 60_000})
      expect(looped.code, looped.stderr).toBe(1)
      expect(looped.stdout).toContain('✗ nothing was published')
      expect(looped.stdout).toMatch(/0 of 1 devices were connected when the run ended/)
      expect(looped.stdout).not.toContain('✓')
      expect(looped.stderr).toContain('published nothing')
      expect(looped.stderr).not.toMatch(/\n\s+at /)

      // The retained command cleared: the same scenario publishes and exits 0.
      await sender.publishAsync('loop/rt0/cmd/reboot', '', {qos: 1, retain: true})
      await sender.endAsync()
      const clean = await runCli(['sim', file, '--broker', broker.url, '--duration', '5s'], {timeoutMs: 60_000})
      expect(clean.code, clean.stderr).toBe(0)
      expect(clean.stdout).toContain('✓ all 1 device connected')
    } finally {
      await broker.stop()
    }
  })
})
