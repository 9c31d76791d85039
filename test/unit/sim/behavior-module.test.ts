import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ConfigError, formatProblem} from '../../../src/errors.js'
import {behaviorModuleProblem, loadBehaviorModule} from '../../../src/sim/commands/behavior.js'
import {loadScenario} from '../../../src/sim/scenario/index.js'
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
    expect((thrown(none) as Error).message).toBe(`${none}: behavior module exports none of onStart, onTick, onMessage (it exports tick): module.exports = {onTick(device) {...}} or export default {onTick(device) {...}}`)
  })

  it('loads a module with a hook', () => {
    const ok = moduleFile('ok.js', 'module.exports = {onTick() {}}\n')
    expect(typeof loadBehaviorModule(ok).onTick).toBe('function')
  })

  it('lint reports a module that does not parse at the behavior key, in the words and at the line:col the run uses', () => {
    const scenario = (path: string) => `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    behavior: ${path}\n    fields: {t: 1}\n`
    // It linted ok, and the run stopped in its workers; then it said "does not parse: Unexpected token '}' (line 3)".
    const broken = moduleFile('lint-broken.js', 'module.exports = {\n  onTick(d) {}}\n}\n')
    expect(scenarioProblems(scenario(broken))).toEqual([`8:15 fleets[0].behavior: ${broken}:3:1: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`])
    const esm = moduleFile('lint-broken.mjs', 'export function onTick(d) {\n  d.set("x", 1))\n}\n')
    expect(scenarioProblems(scenario(esm))).toEqual([`8:15 fleets[0].behavior: ${esm}:2:16: behavior module cannot be loaded: SyntaxError: Unexpected token ')'`])
    // The run, on its own, says the same of both (an ES module's line:col from node --check).
    expect(() => loadBehaviorModule(broken)).toThrow(`${broken}:3:1: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`)
    expect(() => loadBehaviorModule(esm)).toThrow(`${esm}:2:16: behavior module cannot be loaded: SyntaxError: Unexpected token ')'`)
    // Without sim lint's loadBehaviors (a run, a dry run, sim registry), loading the scenario runs no module.
    expect(scenarioProblems(scenario(moduleFile('lint-throws.js', 'throw new Error("no config")\n')))).toEqual([])
    expect(scenarioProblems(scenario(moduleFile('lint-ok.mjs', 'export function onTick() {}\n')))).toEqual([])
  })
})

describe('a behaviour module that does not parse, parsed as Node will load it', () => {
  const scenario = (path: string) => `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    behavior: ${path}\n    fields: {t: 1}\n`
  const esmBroken = 'export default {\n  onTick(device) {\n    device.set("rpm",\n  },\n}\n'

  it('an ES module .js in a folder without package.json: its own line and column, on every path', () => {
    // node --check passed it (Node 20 parses a .js it only detects as an ES module as CommonJS there): a dry run,
    // a backfill and sim registry took it, and the run and lint said the error without the module's line.
    const esm = moduleFile('esm-broken.js', esmBroken)
    const said = `${esm}:4:3: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`
    expect(behaviorModuleProblem(esm, {load: false})).toBe(said)
    expect(behaviorModuleProblem(esm, {load: true})).toBe(said)
    expect(() => loadBehaviorModule(esm)).toThrow(said)
    expect(scenarioProblems(scenario(esm))).toEqual([`8:15 fleets[0].behavior: ${said}`])
  })

  it('CommonJS .js and .cjs, ES module .mjs, and a .js under "type": "module" or "commonjs"', () => {
    const cjs = moduleFile('cjs-broken.js', 'module.exports = {\n  onTick(d) {\n    d.set("rpm",\n  },\n}\n')
    expect(behaviorModuleProblem(cjs, {load: false})).toBe(`${cjs}:4:3: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`)
    const dotCjs = moduleFile('broken.cjs', 'module.exports = {\n  onTick(d) { d.set("rpm", }\n}\n')
    expect(behaviorModuleProblem(dotCjs, {load: false})).toBe(`${dotCjs}:2:28: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`)
    const mjs = moduleFile('broken2.mjs', esmBroken)
    expect(behaviorModuleProblem(mjs, {load: false})).toBe(`${mjs}:4:3: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`)
    for (const type of ['module', 'commonjs']) {
      const pkg = join(dir, `pkg-${type}`)
      mkdirSync(join(pkg, 'lib'), {recursive: true})
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({type}))
      const broken = join(pkg, 'lib', 'pump.js')
      writeFileSync(broken, type === 'module' ? esmBroken : 'module.exports = {\n  onTick(d) {\n    d.set("rpm",\n  },\n}\n')
      expect(behaviorModuleProblem(broken, {load: false})).toBe(`${broken}:4:3: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`)
      expect(() => loadBehaviorModule(broken)).toThrow(`${broken}:4:3: behavior module cannot be loaded: SyntaxError: Unexpected token '}'`)
    }
    // Under "type": "commonjs", export is the error, as Node would load it.
    const typed = join(dir, 'pkg-commonjs', 'esm.js')
    writeFileSync(typed, '// pump\nexport default {onTick() {}}\n')
    expect(behaviorModuleProblem(typed, {load: false})).toBe(`${typed}:2:1: behavior module cannot be loaded: SyntaxError: Unexpected token 'export'`)
  })

  it('modules that parse are taken: ES module and CommonJS .js, a top-level return in CommonJS', () => {
    expect(behaviorModuleProblem(moduleFile('esm-ok.js', 'export default {onTick(d) {}}\n'), {load: false})).toBeUndefined()
    expect(behaviorModuleProblem(moduleFile('cjs-ok.js', 'module.exports = {onTick(d) {}}\nreturn\n'), {load: false})).toBeUndefined()
    expect(behaviorModuleProblem(moduleFile('esm-ok2.js', 'import {join} from "node:path"\nexport function onTick(d) { join("a") }\n'), {load: true})).toBeUndefined()
  })
})

describe('what the run refuses of a module, said so that it can be fixed', () => {
  const message = (path: string) => {
    try {
      loadBehaviorModule(path)
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError)
      return (error as Error).message
    }
    return 'loaded'
  }

  it('a hook that is no function, a misspelt hook, an export that is no object', () => {
    // Each said "behavior module exports none of onStart, onTick, onMessage".
    const num = moduleFile('hook-number.js', 'module.exports = {onTick: 5}\n')
    expect(message(num)).toBe(`${num}: behavior module's onTick is a number, not a function`)
    const typo = moduleFile('hook-typo.js', 'module.exports = {onTik(d) {}}\n')
    expect(message(typo)).toBe(`${typo}: behavior module exports none of onStart, onTick, onMessage: it exports onTik; did you mean onTick?`)
    const five = moduleFile('five.js', 'module.exports = 5\n')
    expect(message(five)).toBe(`${five}: behavior module exports the number 5, not an object with onStart, onTick or onMessage (module.exports = {onTick(device) {...}} or export default {onTick(device) {...}})`)
    const nul = moduleFile('null.mjs', 'export default null\n')
    expect(message(nul)).toBe(`${nul}: behavior module has the default export null, not an object with onStart, onTick or onMessage (module.exports = {onTick(device) {...}} or export default {onTick(device) {...}})`)
    const nothing = moduleFile('nothing.js', 'const x = 1\n')
    expect(message(nothing)).toMatch(/nothing\.js: behavior module exports none of onStart, onTick, onMessage \(it exports nothing\)/)
  })

  it('a thrown text, a missing required file, top-level await: where, and without Node internals', () => {
    // "its top level threw "a string"" had no line.
    const text = moduleFile('throw-text.js', '// first\nif (true) throw "a string"\n')
    expect(message(text)).toBe(`${text}:2:11: behavior module cannot be loaded: its top level threw "a string"`)
    // It went on "Require stack:\n- .../req.js\n- /.../dist/sim/commands/behavior.js".
    const req = moduleFile('req.js', '// needs a helper\nmodule.exports = require("./nope-missing")\n')
    expect(message(req)).toBe(`${req}:2:18: behavior module cannot be loaded: cannot find module './nope-missing' (required at req.js:2:18)`)
    // It was Node's "require() cannot be used on an ESM graph with top-level await. Use import() instead. ...".
    const tla = moduleFile('tla.mjs', 'const x = 1\n  await Promise.resolve(x)\nexport default {onTick() {}}\n')
    expect(message(tla)).toBe(`${tla}:2:3: behavior module cannot be loaded: an ES module with top-level await cannot be loaded (iotd loads behaviour modules synchronously): remove the await at top level`)
  })

  it('sim lint loads the module as the run does and says what the run would, at the behavior key', () => {
    // Lint said ok of each of these, and the run refused them.
    const scenario = (path: string) => `version: 1\nname: m\nfleets:\n  - name: a\n    count: 1\n    topic: "x/{deviceId}"\n    every: 1s\n    behavior: ${path}\n    fields: {t: 1}\n`
    const lint = (path: string) => {
      try {
        loadScenario(join(dir, 'm.yaml'), {text: scenario(path), env: {}, loadBehaviors: true})
      } catch (error) {
        return (error as ConfigError).problems.map((p) => `${p.line}:${p.col} ${p.message}`)
      }
      return []
    }
    const modules = [
      moduleFile('l-throws.js', 'const x = 1\nthrow new Error("no config")\n'),
      moduleFile('l-text.js', 'throw "a string"\n'),
      moduleFile('l-five.js', 'module.exports = 5\n'),
      moduleFile('l-null.mjs', 'export default null\n'),
      moduleFile('l-typo.js', 'module.exports = {onTik() {}}\n'),
      moduleFile('l-number.js', 'module.exports = {onTick: 5}\n'),
      moduleFile('l-req.js', 'module.exports = require("./nope-missing")\n'),
      moduleFile('l-tla.mjs', 'await 1\nexport default {onTick() {}}\n'),
      moduleFile('l-nothing.js', '// nothing\n'),
    ]
    for (const path of modules) {
      let run = ''
      try {
        loadBehaviorModule(path)
      } catch (error) {
        run = formatProblem((error as ConfigError).problems[0])
      }
      expect(run).not.toBe('')
      expect(lint(path)).toEqual([`8:15 fleets[0].behavior: ${run}`])
    }
    expect(lint(moduleFile('l-ok.mjs', 'export function onTick() {}\n'))).toEqual([])
    // Its top level runs in a child process: a module that writes to stdout or keeps a timer does not disturb lint.
    expect(lint(moduleFile('l-noisy.js', 'console.log("hello")\nsetInterval(() => {}, 1000)\nmodule.exports = {onTick() {}}\n'))).toEqual([])
  })

  it('a module whose top level never ends does not hang lint: it is stopped and said so', () => {
    const loop = moduleFile('loop.js', 'while (true) {}\nmodule.exports = {onTick() {}}\n')
    const started = Date.now()
    expect(behaviorModuleProblem(loop, {load: true, timeoutMs: 1000})).toBe(`${loop}: behavior module cannot be loaded: its top level did not finish in 1 s (a loop, or something it waits for?)`)
    expect(Date.now() - started).toBeLessThan(8000)
  })
})
