import {existsSync, mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, runCli} from '../helpers/cli.js'

/**
 * `iotd sim --backfill` as a user runs it (issue #13 item 6): no listener warning however long the run, nothing
 * before `from`, `--out -` is stdout, an unknown extension and `--dry-run` are refused, an earlier labels file is
 * kept unless --force, and the summary counts the labels.
 */

const RANGE = '2026-01-01T00:00:00Z..2026-01-01T00:20:00Z'
const FROM_US = Date.parse('2026-01-01T00:00:00Z') * 1000

describe('iotd sim --backfill', () => {
  it('a long backfill prints no MaxListenersExceededWarning, and no row comes before `from`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-'))
    const out = join(dir, 'plant.csv')
    // ~40,000 rows, ~12 MB: the file stream asks to wait for 'drain' hundreds of times.
    const r = await runCli(['sim', 'scenarios/smart-factory.yaml', '--backfill', RANGE, '--out', out, '--seed', '3', '--labels', join(dir, 'labels.jsonl')])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).not.toMatch(/MaxListenersExceededWarning|Warning:/)
    const rows = readFileSync(out, 'utf8').trimEnd().split('\n').slice(1)
    expect(rows.length).toBeGreaterThan(30_000)
    const times = rows.map((l) => Number(l.slice(0, l.indexOf(','))))
    const first = Math.min(...times.slice(0, 1000))
    // The capture's ts is in µs (or ms for whole milliseconds); either way not before the range's start.
    expect(first >= FROM_US || (first < 1e13 && first >= FROM_US / 1000)).toBe(true)
    // The summary says how many labels went where.
    expect(r.stdout).toMatch(/backfill .*: [\d,]+ rows from \d+ devices .*-> .*plant\.csv; [\d,]+ labels? -> .*labels\.jsonl/)
    const labelLines = readFileSync(join(dir, 'labels.jsonl'), 'utf8').split('\n').filter(Boolean).length
    expect(r.stdout).toContain(`${labelLines.toLocaleString('en-US')} label`)
  }, 120_000)

  it('--out - writes the capture to stdout (the same bytes as the file) and the summary to stderr', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-'))
    const file = join(dir, 'a.csv')
    const range = '2026-01-01T00:00:00Z..2026-01-01T00:05:00Z'
    const toFile = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', range, '--out', file, '--seed', '5'])
    expect(toFile.code, toFile.stderr).toBe(0)
    const toStdout = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', range, '--out', '-', '--seed', '5'])
    expect(toStdout.code, toStdout.stderr).toBe(0)
    expect(toStdout.stdout).toBe(readFileSync(file, 'utf8'))
    expect(toStdout.stderr).toMatch(/-> stdout/)
    expect(existsSync(join(ROOT, '-'))).toBe(false)
    const json = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', range, '--out', '-', '--json'])
    expect(json.code).toBe(2)
  }, 60_000)

  it('an --out of unknown format is refused (exit 2, nothing written); --dry-run with --backfill is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-'))
    const parquet = join(dir, 'x.parquet')
    const r = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', RANGE, '--out', parquet])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('backfill does not write .parquet files')
    expect(existsSync(parquet)).toBe(false)

    const both = await runCli(['sim', 'scenarios/cold-chain.yaml', '--backfill', RANGE, '--out', join(dir, 'y.csv'), '--dry-run'])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/--dry-run and --backfill exclude each other/)
    expect(existsSync(join(dir, 'y.csv'))).toBe(false)
  }, 60_000)

  it('an earlier labels file is kept (exit 2) unless --force replaces it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'iotd-backfill-'))
    const labels = join(dir, 'labels.jsonl')
    writeFileSync(labels, '{"deviceId":"truck-01","kind":"spike"}\n')
    const args = ['sim', 'scenarios/smart-factory.yaml', '--backfill', RANGE, '--out', join(dir, 'b.csv'), '--labels', labels]
    const refused = await runCli(args)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/labels file .*labels\.jsonl already holds labels/)
    expect(refused.stderr).toContain('--force')
    expect(readFileSync(labels, 'utf8')).toBe('{"deviceId":"truck-01","kind":"spike"}\n')
    expect(existsSync(join(dir, 'b.csv'))).toBe(false)

    const forced = await runCli([...args, '--force'])
    expect(forced.code, forced.stderr).toBe(0)
    expect(readFileSync(labels, 'utf8')).not.toContain('truck-01')
  }, 120_000)
})
