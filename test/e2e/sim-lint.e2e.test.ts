import {mkdtempSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

describe('iotd sim lint', () => {
  it('accepts every shipped scenario', async () => {
    for (const file of readdirSync('scenarios').filter((f) => f.endsWith('.yaml'))) {
      const r = await runCli(['sim', 'lint', join('scenarios', file)])
      expect(r.code, `${file}: ${r.stderr}`).toBe(0)
      expect(r.stdout).toMatch(/: ok \(\d+ fleets?, [\d,]+ devices?(; \d+ Modbus groups?, [\d,]+ Modbus devices?)?(; \d+ Sparkplug edge nodes?, [\d,]+ Sparkplug devices?)?\)/)
      // Every anomaly and fault of a shipped scenario fires on some device: smart-building's selected "0 of 12".
      expect(r.stdout, file).not.toMatch(/: 0 of \d+ devices/)
      expect(r.stderr, file).toBe('')
    }
  })

  it('an anomaly whose share: drew no device is a warning at its file:line:col (exit 0), from lint and before a run', async () => {
    // Before: lint listed "hvac.anomalies[0] noise on roomTemp: 0 of 12 devices" and said nothing more.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-lint-share-'))
    const path = join(dir, 'b.yaml')
    writeFileSync(path, 'version: 1\nname: b\nseed: 2024\nfleets:\n  - name: hvac\n    count: 12\n    topic: "b/{deviceId}"\n    every: 30s\n    fields:\n      roomTemp: {kind: walk, mean: 21.5, theta: 0.01, sigma: 0.05}\n    anomalies:\n      - {field: roomTemp, kind: noise, share: 10%, probability: 0.0005, duration: 10m, magnitude: 1.5}\n')
    const warning = `${path}:12:47: fleets[0].anomalies[0].share: anomaly noise on roomTemp selects none of hvac's 12 devices with seed 2024: share: 10% is a chance per device, and none was drawn (1.2 expected); write devices: 1 to select exactly one`
    const lint = await runCli(['sim', 'lint', path])
    expect(lint.code, lint.stderr).toBe(0)
    expect(lint.stdout).toContain('hvac.anomalies[0] noise on roomTemp: 0 of 12 devices')
    expect(lint.stderr).toBe(`Warning: ${warning}\n`)
    const json = await runCli(['sim', 'lint', path, '--json'])
    expect((JSON.parse(json.stdout) as {warnings: string[]}).warnings).toEqual([warning])
    // --seed counts with the seed a run would use: seed 1 draws some.
    const seeded = await runCli(['sim', 'lint', path, '--seed', '1'])
    expect(seeded.stderr).toBe('')
    const dry = await runCli(['sim', path, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stderr).toContain(`warning: ${warning}`)
  })

  it('reports every malformed scenario of the corpus as file:line:col with exit 2 and no stack trace', async () => {
    const dir = 'test/fixtures/scenarios/bad'
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'))
    expect(files.length).toBeGreaterThanOrEqual(25)
    // Each file says on line 1 where its problem is: "# expect: LINE:COL words".
    const check = async (file: string) => {
      const path = join(dir, file)
      const [, where] = /^# expect: (\d+:\d+)/.exec(readFileSync(path, 'utf8')) ?? []
      const r = await runCli(['sim', 'lint', path])
      expect(r.code, `${file}: ${r.stderr}`).toBe(2)
      expect(r.stderr, file).toContain(`${path}:${where}: `)
      expect(r.stderr, file).not.toMatch(/\n\s+at /)
      expect(r.stdout, file).toBe('')
    }
    for (let i = 0; i < files.length; i += 4) await Promise.all(files.slice(i, i + 4).map(check))
  }, 180_000)

  it('reports structural and cross-field problems in one pass: a fleet the schema refuses does not hide another fleet\'s', async () => {
    const path = 'test/fixtures/scenarios/one-pass.yaml'
    const r = await runCli(['sim', 'lint', path])
    expect(r.code).toBe(2)
    // fleets[0].every is refused by the schema; fleets[1] passes it and has two cross-field problems.
    expect(r.stderr).toContain(`${path}:7:12: `)
    expect(r.stderr).toMatch(new RegExp(`${path}:13:\\d+: .*sitee`))
    expect(r.stderr).toMatch(new RegExp(`${path}:16:\\d+: .*pressure`))
  })

  it('counts in the singular where there is one: "1 fleet", not "1 fleets"', async () => {
    const r = await runCli(['sim', 'lint', 'scenarios/modbus-plant.yaml'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/: ok \(1 fleet, /)
  })

  it('an unset ${env:VAR} is a warning for lint (exit 0) and an error for a run (exit 2), at its file:line:col', async () => {
    const path = 'test/fixtures/scenarios/env-missing.yaml'
    const lint = await runCli(['sim', 'lint', path])
    expect(lint.code, lint.stderr).toBe(0)
    expect(lint.stderr).toContain(`Warning: ${path}:4:13: environment variable IOTD_TEST_SURELY_UNSET is not set`)
    const run = await runCli(['sim', path, '--dry-run'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain(`${path}:4:13: environment variable IOTD_TEST_SURELY_UNSET is not set`)
  })

  it('a malformed scenario stops a run the same way, before anything connects', async () => {
    const path = 'test/fixtures/scenarios/bad/bad-duration.yaml'
    const r = await runCli(['sim', path, '--duration', '1s'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bad-duration\.yaml:\d+:\d+: .*not a duration/)
  })

  it('without a seed in the file, lint says its share: counts are one draw; --seed fixes them', async () => {
    const path = 'test/fixtures/scenarios/unseeded-share.yaml'
    const drawn = await runCli(['sim', 'lint', path])
    expect(drawn.code, drawn.stderr).toBe(0)
    expect(drawn.stdout).toMatch(/shift on temperature: \d+ of 20 devices\n {2}\(counts for seed \d+, drawn for this lint: the scenario sets no seed/)
    const seeded = await Promise.all([runCli(['sim', 'lint', path, '--seed', '5']), runCli(['sim', 'lint', path, '--seed', '5'])])
    expect(seeded[0].stdout).not.toContain('drawn for this lint')
    expect(seeded[0].stdout).toBe(seeded[1].stdout)
  })

  it('loads a behaviour module as the run does: one whose top level throws is exit 2 at the behavior key; a dry run does not run it', async () => {
    // Lint said ok, and the run then refused the module.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-lint-behavior-'))
    writeFileSync(join(dir, 'boom.js'), '// settings\nthrow new Error("no config")\n')
    const scenario = join(dir, 's.yaml')
    writeFileSync(scenario, 'version: 1\nseed: 1\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    behavior: ./boom.js\n    fields: {t: 1}\n')
    const lint = await runCli(['sim', 'lint', scenario])
    expect(lint.code, lint.stderr).toBe(2)
    expect(lint.stderr).toContain(`${scenario}:8:15: fleets[0].behavior: ${join(dir, 'boom.js')}:2:7: behavior module cannot be loaded: its top level threw Error: no config`)
    expect(lint.stderr).not.toMatch(/\n\s+at /)
    const dry = await runCli(['sim', scenario, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
  })

  it('a syntax error in an ES module .js is exit 2 at the module\'s own file:line:col, on lint, a run, a dry run, a backfill and sim registry', async () => {
    // node --check passed such a .js (no package.json says its type): the dry run, backfill and registry exited 0;
    // lint and the run said the error without the module's line.
    const dir = mkdtempSync(join(tmpdir(), 'iotd-behavior-syntax-'))
    writeFileSync(join(dir, 'b.js'), 'export default {\n  onTick(device) {\n    device.set("rpm",\n  },\n}\n')
    const scenario = join(dir, 'beh.yaml')
    writeFileSync(scenario, 'version: 1\nseed: 1\nfleets:\n  - name: pump\n    count: 2\n    topic: "p/{deviceId}"\n    every: 1s\n    behavior: ./b.js\n    fields: {rpm: 1450}\n')
    const said = `${scenario}:8:15: fleets[0].behavior: ${join(dir, 'b.js')}:4:3: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`
    const runs = await Promise.all([
      runCli(['sim', 'lint', scenario]),
      runCli(['sim', scenario, '--duration', '1s']),
      runCli(['sim', scenario, '--dry-run']),
      runCli(['sim', scenario, '--backfill', '2026-01-01T00:00Z..2026-01-01T00:00:05Z', '--out', '-']),
      runCli(['sim', 'registry', scenario]),
    ])
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toContain(said)
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.stdout).toBe('')
    }
  })
})
