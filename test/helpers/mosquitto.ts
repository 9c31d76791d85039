/**
 * vitest wrappers around the private mosquitto of mosquitto-process.ts (which perf/ uses without vitest).
 */
import {afterAll, describe, it} from 'vitest'
import {mosquittoAvailable, stopAllMosquittos} from './mosquitto-process.js'

export * from './mosquitto-process.js'

/**
 * `describe` for suites that need mosquitto. Missing binary: under CI=true the suite fails (it must run in CI);
 * elsewhere it is skipped with a notice on stderr. Brokers started inside are stopped after the suite.
 */
export function describeMosquitto(name: string, fn: () => void): void {
  if (mosquittoAvailable()) {
    describe(name, () => {
      afterAll(stopAllMosquittos)
      fn()
    })
  } else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs the mosquitto binary', () => {
        throw new Error('mosquitto is not installed, and CI=true: install it (apt-get install mosquitto) so this suite runs')
      })
    })
  } else {
    process.stderr.write(`NOTICE: skipping "${name}": the mosquitto binary was not found (install mosquitto to run it)\n`)
    describe.skip(name, fn)
  }
}

