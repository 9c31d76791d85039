import type {FleetCounters} from '../sim/types.js'

type CommandCounters = Pick<FleetCounters, 'commandsReceived' | 'commandsApplied' | 'commandsFailed' | 'commandsIgnored'>

/**
 * Commands received whose reaction still waits for its latency: received = applied + failed + ignored + waiting.
 * None are left in a run's totals (the stop counts them as failed); during the run, the progress lines and the live
 * view show them, so their figures add up at every moment.
 */
export function commandsWaiting(f: CommandCounters): number {
  return Math.max(0, f.commandsReceived - f.commandsApplied - f.commandsFailed - f.commandsIgnored)
}
