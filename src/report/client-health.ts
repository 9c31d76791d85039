import {availableParallelism} from 'node:os'
import type {ClientHealth} from '../sim/types.js'
import {formatMs, formatPercent} from '../metrics/format.js'

/** CPU use above this share of the cores the process may use means the load generator, not the broker, is the limit. */
export const CPU_SATURATION_SHARE = 0.9
/** Timers fire this late (p99) and due times slip: the figures then describe the client more than the broker. */
export const EVENT_LOOP_LAG_LIMIT_MS = 50

/** Cores this process may run on (respects CPU affinity / cgroup limits that Node reports). */
export function usableCores(): number {
  return availableParallelism()
}

/**
 * Why the client itself is the bottleneck, in one sentence, or undefined when it is not. `cores` is injected so
 * the verdict is a pure function of its inputs.
 */
export function clientBottleneck(health: ClientHealth, cores: number): string | undefined {
  const reasons: string[] = []
  const cpuLimit = CPU_SATURATION_SHARE * 100 * Math.max(1, cores)
  if (health.cpuPercent > cpuLimit) {
    reasons.push(`CPU ${formatPercent(health.cpuPercent)} of ${Math.max(1, cores) * 100}% available`)
  }
  if (health.eventLoopLagP99Ms > EVENT_LOOP_LAG_LIMIT_MS) {
    reasons.push(`event-loop lag p99 ${formatMs(health.eventLoopLagP99Ms)} > ${EVENT_LOOP_LAG_LIMIT_MS}ms`)
  }
  return reasons.length ? `the client is the bottleneck (${reasons.join(', ')}): figures describe iotd more than the broker` : undefined
}
