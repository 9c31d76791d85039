import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // @oclif/test's runCommand captures stdout itself.
    disableConsoleIntercept: true,
    // Integration suites start brokers and fleets; two cores do not gain from more parallel files.
    maxWorkers: 2,
    reporters: ['default', './test/helpers/closing-line-reporter.ts'],
  },
})
