/**
 * A YAML alias bomb ("billion laughs": anchors of lists of aliases of lists of aliases) in a pipeline or a scenario
 * is a config problem at the alias where the copies multiply, exit 2, one line, no stack. Before, yaml's
 * "Excessive alias count indicates a resource exhaustion attack" came out as it was, exit 1, with no position.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-e2e-alias-bomb-'))
const BOMB = `version: 1
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
`
const file = join(dir, 'bomb.yaml')
writeFileSync(file, BOMB)

describe('a YAML alias bomb', () => {
  it.each([[['pipeline', 'run', file]], [['sim', file]], [['sim', 'lint', file]]])('iotd %j: file:line:col: too many aliases, exit 2', async (args) => {
    const r = await runCli(args, {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(2)
    // The first alias of an anchor that holds aliases: *b on line 4, column 8.
    expect(r.stderr).toContain(`${file}:4:8: too many aliases (expanding the aliases of this file would make more than 1,000 copies`)
    expect(r.stderr).not.toMatch(/Excessive alias count|\n\s+at /)
  })

  it('pipeline lint reports it as a finding (lint exits 1 on findings)', async () => {
    const r = await runCli(['pipeline', 'lint', file], {timeoutMs: 30_000})
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout + r.stderr).toContain(`${file}:4:8: too many aliases`)
  })
})
