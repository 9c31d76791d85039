import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

/**
 * `iotd sim merge` given something that is no summary: a binary file, a file far larger than any summary, a missing
 * one. Each is one line naming the file, exit 2, no stack trace. Before, a binary file said only "is not a JSON
 * summary", and a wrong argument of any size was read whole into memory first.
 */
it('a binary, oversized or missing file is one line naming it, exit 2', {timeout: 60_000}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-merge-input-'))
  const binary = join(dir, 'capture.bin')
  writeFileSync(binary, Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x00, 0xff, 0x10, 0x7d]))
  const big = join(dir, 'big.json')
  writeFileSync(big, `{"a":"${'x'.repeat(17 * 1024 * 1024)}"}`)
  const cases: Array<[string, RegExp]> = [
    [binary, /capture\.bin:1:\d+: not a text file/],
    [big, /big\.json: the file is 17\.0 MiB, larger than the 16\.0 MiB/],
    [join(dir, 'missing.json'), /missing\.json: file not found/],
  ]
  for (const [file, message] of cases) {
    const r = await runCli(['sim', 'merge', file])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  }
})
