import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ConfigError} from '../../../src/errors.js'
import {loadBehaviorModule} from '../../../src/sim/commands/behavior.js'
import {scenarioProblems} from '../../helpers/scenario-problems.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-behavior-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function moduleFile(name: string, source: string): string {
  const path = join(dir, name)
  writeFileSync(path, source)
  return path
}

describe('loading a behaviour module', () => {
  it('names the file (and the line of a syntax error) when the module cannot be loaded', () => {
    // The run said only "a fleet worker failed: Unexpected token '}'".
    const broken = moduleFile('broken.js', 'module.exports = {\n  onTick(d) {\n    d.set("x", 1))\n  },\n}\n')
    expect(() => loadBehaviorModule(broken)).toThrow(`${broken}:3:18: behavior module cannot be loaded: SyntaxError: Unexpected token ')'`)
    const throws = moduleFile('throws.js', 'throw new Error("no config")\n')
    expect(() => loadBehaviorModule(throws)).toThrow(`${throws}:1:7: behavior module cannot be loaded: its top level threw Error: no config`)
  })

  it('a module that cannot be loaded is bad input (exit code 2): file:line:col and what went wrong', () => {
    // A plain Error: the run ended with exit code 1, as a broker failure does, and no line of the module.
    const thrown = (path: string) => {
      try {
        loadBehaviorModule(path)
      } catch (error) {
        return error
      }
    }
    const boom = moduleFile('boom.js', '// settings\nconst limit = 3\nthrow new Error(`boom ${limit}`)\n')
    const error = thrown(boom)
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).exitCode).toBe(2)
    expect((error as ConfigError).message).toBe(`${boom}:3:7: behavior module cannot be loaded: its top level threw Error: boom 3`)
    const esm = moduleFile('boom.mjs', 'export function onTick() {}\nthrow new RangeError("no config")\n')
    expect((thrown(esm) as Error).message).toBe(`${esm}:2:7: behavior module cannot be loaded: its top level threw RangeError: no config`)
    const broken = moduleFile('broken-col.js', 'module.exports = {\n  onTick(d) {\n    d.set("x", 1))\n  },\n}\n')
    expect((thrown(broken) as Error).message).toBe(`${broken}:3:18: behavior module cannot be loaded: SyntaxError: Unexpected token ')'`)
    const none = moduleFile('none.js', 'module.exports = {tick() {}}\n')
    expect(thrown(none)).toBeInstanceOf(ConfigError)
    expect((thrown(none) as Error).message).toBe(`${none}: behavior module exports none of onStart, onTick, onMessage`)
  })

  it('loads a module with a hook', () => {
    const ok = moduleFile('ok.js', 'module.exports = {onTick() {}}\n')
    expect(typeof loadBehaviorModule(ok).onTick).toBe('function')
  })

  it('lint reports a module that does not parse at the behavior key, without running it', () => {
    const scenario = (path: string) => `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    behavior: ${path}\n    fields: {t: 1}\n`
    // It linted ok, and the run stopped in its workers.
    const broken = moduleFile('lint-broken.js', 'module.exports = {\n  onTick(d) {}}\n}\n')
    expect(scenarioProblems(scenario(broken))).toEqual([`8:15 fleets[0].behavior: behavior module ${broken} does not parse: Unexpected token '}' (line 3)`])
    const esm = moduleFile('lint-broken.mjs', 'export function onTick(d) {\n  d.set("x", 1))\n}\n')
    expect(scenarioProblems(scenario(esm))).toEqual([`8:15 fleets[0].behavior: behavior module ${esm} does not parse: Unexpected token ')' (line 2)`])
    // Parsing runs nothing: a module whose top level throws passes lint (the run names it when it loads).
    expect(scenarioProblems(scenario(moduleFile('lint-throws.js', 'throw new Error("no config")\n')))).toEqual([])
    expect(scenarioProblems(scenario(moduleFile('lint-ok.mjs', 'export function onTick() {}\n')))).toEqual([])
  })
})
