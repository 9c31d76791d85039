import {defineConfig} from 'vitest/config'

/**
 * Suites whose assertions are about timing (replay's schedule, the record → replay → record round trip, the fleet's
 * publish lag and per-interval counts). They run last and one file at a time: beside another file's brokers and
 * fleets on two cores, the OS alone delays a runnable process by tens of ms, and the figures they hold would measure
 * the neighbour instead of iotd.
 */
const timingSuites = [
  'test/integration/modbus/rtu-timing.test.ts',
  'test/integration/pipeline/replay-timing.test.ts',
  'test/e2e/tail-record-replay.e2e.test.ts',
  'test/integration/sim/fleet-embedded.test.ts',
  // replies within the declared command latency (plus delivery, load-aware) from 1,000 devices.
  'test/integration/sim/commands-mosquitto.test.ts',
  // p50 < 100 ms (load-aware) and the 100,000 msg/s x 16 KiB overload, which needs the machine to itself.
  'test/integration/bench/bench-run.test.ts',
  // shards started at one instant (--start-at 6 s ahead), Ctrl-C within a load-aware bound, a 1 s broker freeze.
  'test/integration/bench/bench-timeline.test.ts',
  // poll counts against wall time.
  'test/integration/modbus/modbus-source.test.ts',
  // ReplayClock.waitUntil lands within 25 ms (load-aware) of its due time.
  'test/unit/pipeline/replay-tools.test.ts',
  // a 3 s fleet run must publish: start-up of workers and a 48-device ramp eat most of it on a busy machine.
  'test/e2e/sim.e2e.test.ts',
  'test/e2e/sim-lint-bounds.e2e.test.ts',
  'test/integration/pipeline/delivery-shutdown.test.ts',
]

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // @oclif/test's runCommand captures stdout itself.
    disableConsoleIntercept: true,
    reporters: ['default', './test/helpers/closing-line-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
          exclude: timingSuites,
          // Integration suites start brokers and fleets; two cores do not gain from more parallel files.
          maxWorkers: 2,
          sequence: {groupOrder: 0},
        },
      },
      {
        extends: true,
        test: {
          name: 'timing',
          include: timingSuites,
          fileParallelism: false,
          sequence: {groupOrder: 1},
        },
      },
    ],
  },
})
