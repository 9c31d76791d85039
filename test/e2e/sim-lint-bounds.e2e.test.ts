/**
 * #13 item 2: `iotd sim lint` on inputs that used to take it down. A hundred million devices, a 50 MB binary file, an
 * oversized file and a file full of problems are answered at once in a few lines with exit 2; a valid 5 MB
 * scenario lints in seconds (parsing grows linearly with the file). Timed: in the `timing` project.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {loadAwareBound} from '../helpers/load-bound.js'
import {seededRandom} from '../helpers/seeded-random.js'

const work = mkdtempSync(join(tmpdir(), 'iotd-loud-lint-'))

async function timedLint(file: string) {
  const started = performance.now()
  const r = await runCli(['sim', 'lint', file], {timeoutMs: 120_000})
  return {...r, ms: performance.now() - started}
}

function fleet(i: number, count = 1): string {
  return `  - name: f${i}\n    count: ${count}\n    id: "dev-${i}-{number:03}"\n    topic: "big/${i}/{deviceId}"\n    every: 10s\n` +
    '    fields:\n      ts: {kind: timestamp}\n      temp: {kind: walk, mean: 21.5, theta: 0.01, sigma: 0.05, min: 15, max: 30, resolution: 0.1}\n'
}

describe('iotd sim lint: input bounds', () => {
  it('a 100,000,000-device fleet is refused at its count (file:line:col) at once, exit 2', async () => {
    const file = join(work, 'huge.yaml')
    writeFileSync(file, readFileSync('scenarios/smart-factory.yaml', 'utf8').replace(/count: 24\b/, 'count: 100000000'))
    const line = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('count: 100000000')) + 1
    const r = await timedLint(file)
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`${file}:${line}:12: fleets[0].count: count must be at most 1,000,000`)
    expect(r.ms).toBeLessThan(loadAwareBound(1500))
  })

  it('fleets that together pass the ceiling are refused at the fleet that crosses it', async () => {
    const file = join(work, 'many.yaml')
    writeFileSync(file, `version: 1\nname: many\nfleets:\n${fleet(0, 600_000)}${fleet(1, 600_000)}`)
    const r = await timedLint(file)
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`${file}:13:12: fleets[1].count: this fleet brings the scenario to 1,200,000 devices`)
  })

  it('a 50 MB binary file: one line, "not a text file", at once', async () => {
    const file = join(work, 'random.bin')
    const random = seededRandom(13)
    const bytes = Buffer.alloc(50 * 1024 * 1024)
    for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(random() * 2 ** 32), i)
    writeFileSync(file, bytes)
    const r = await timedLint(file)
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(new RegExp(`^Error: ${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: not a text file`))
    expect(r.ms).toBeLessThan(loadAwareBound(1500))
  })

  it('a text file above the size cap is refused before it is read; a file full of problems shows 20 and counts the rest', async () => {
    const big = join(work, 'big.yaml')
    writeFileSync(big, `version: 1\n# ${'x'.repeat(11 * 1024 * 1024)}\n`)
    const r = await timedLint(big)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toBe(`Error: ${big}: the file is 11.0 MiB, larger than the 10.0 MiB a config file may be`)

    const many = join(work, 'problems.yaml')
    let text = 'version: 1\nname: problems\nfleets:\n'
    for (let i = 0; i < 30; i++) text += fleet(i, 0)
    writeFileSync(many, text)
    const bad = await timedLint(many)
    expect(bad.code).toBe(2)
    const lines = bad.stderr.trim().split('\n')
    expect(lines.filter((l) => l.includes('count must be at least 1'))).toHaveLength(20)
    expect(lines.at(-2)).toBe('… and 10 more problems')
    // Schema problems come with the note that the checks across keys run once these are fixed.
    expect(lines.at(-1)).toMatch(/^ {2}Try: fix these first: /)
  })

  it('a valid 5 MB scenario lints in seconds', async () => {
    const file = join(work, 'five-mb.yaml')
    let text = 'version: 1\nname: five-mb\nseed: 1\nfleets:\n'
    let i = 0
    while (text.length < 5_000_000) text += fleet(i++)
    writeFileSync(file, text)
    const r = await timedLint(file)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`ok (${i.toLocaleString('en-US')} fleets, ${i.toLocaleString('en-US')} devices)`)
    expect(r.ms).toBeLessThan(loadAwareBound(5000))
  }, 300_000)
})
