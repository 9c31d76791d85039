import {readdirSync} from 'node:fs'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

describe('iotd sim lint', () => {
  it('accepts every shipped scenario', async () => {
    for (const file of readdirSync('scenarios').filter((f) => f.endsWith('.yaml'))) {
      const r = await runCli(['sim', 'lint', join('scenarios', file)])
      expect(r.code, `${file}: ${r.stderr}`).toBe(0)
      expect(r.stdout).toMatch(/: ok \(\d+ fleets, \d+ devices\)/)
    }
  })

  it('reports a malformed scenario as file:line:col with exit 2 and no stack trace, for lint and for run', async () => {
    const dir = 'test/fixtures/scenarios/bad'
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).slice(0, 3)
    for (const file of files) {
      const path = join(dir, file)
      for (const args of [['sim', 'lint', path], ['sim', path, '--duration', '1s']]) {
        const r = await runCli(args)
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2)
        expect(r.stderr).toContain(`${path}:`)
        expect(r.stderr).toMatch(new RegExp(`${path.replace(/[.]/g, '\\.')}:\\d+:\\d+: `))
        expect(r.stderr).not.toMatch(/\n\s+at /)
      }
    }
  })
})
