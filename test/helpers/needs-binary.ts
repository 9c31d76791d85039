/**
 * `describe` for suites that need a server binary (influxd, nats-server). Missing binary: under CI=true the suite
 * fails (it must run in CI); elsewhere it is skipped with a visible notice on stderr.
 */
import {describe, it} from 'vitest'

export function describeWithBinary(name: string, binary: {name: string; path: string | null; install: string}, fn: () => void): void {
  if (binary.path) describe(name, fn)
  else if (process.env.CI === 'true') {
    describe(name, () => {
      it(`needs ${binary.name}`, () => {
        throw new Error(`${binary.name} is not installed, and CI=true: install it (${binary.install}) so this suite runs`)
      })
    })
  } else {
    process.stderr.write(`NOTICE: skipping "${name}": ${binary.name} was not found (${binary.install} to run it)\n`)
    describe.skip(name, fn)
  }
}
