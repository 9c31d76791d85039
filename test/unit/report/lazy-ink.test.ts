import {existsSync, readFileSync} from 'node:fs'
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'

/**
 * Ink and React cost ~370 ms to import: nothing reachable from src/report/index.ts through static imports may
 * load them (the live view comes in through a dynamic import only when it is drawn).
 */

const index = fileURLToPath(new URL('../../../src/report/index.ts', import.meta.url))
// `import ... from 'x'` and `export ... from 'x'`, but not `import('x')`
const STATIC_IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm

function staticGraph(entry: string): {files: string[]; packages: Set<string>} {
  const files: string[] = []
  const packages = new Set<string>()
  const queue = [entry]
  while (queue.length) {
    const file = queue.shift()!
    if (files.includes(file)) continue
    files.push(file)
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(STATIC_IMPORT)) {
      if (!spec.startsWith('.')) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0])
        continue
      }
      const base = resolve(dirname(file), spec).replace(/\.js$/, '')
      const target = [`${base}.ts`, `${base}.tsx`].find((f) => existsSync(f))
      if (target) queue.push(target)
    }
  }
  return {files, packages}
}

describe('src/report/index.ts', () => {
  it('reaches neither ink nor react through static imports', () => {
    const {files, packages} = staticGraph(index)
    expect(files.length).toBeGreaterThan(5)
    expect(files.some((f) => f.endsWith('.tsx'))).toBe(false)
    expect([...packages].sort()).not.toContain('ink')
    expect([...packages].sort()).not.toContain('react')
    expect(packages.has('chalk')).toBe(true)
  })

  it('loads the live view by a dynamic import', () => {
    const source = readFileSync(resolve(dirname(index), 'sim-reporter.ts'), 'utf8')
    expect(source).toMatch(/await import\('\.\/ui\/live-sim-reporter\.js'\)/)
  })
})
