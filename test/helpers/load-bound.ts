import {cpus, loadavg} from 'node:os'

/**
 * A time bound that holds on a quiet machine, widened when the machine is loaded (the load average per core above
 * 1), so a test asserts iotd's figure and not its neighbours'. Says on stderr when it widens.
 */
export function loadAwareBound(quietMs: number): number {
  const load = loadavg()[0] / cpus().length
  if (load <= 1) return quietMs
  const widened = quietMs * Math.min(50, Math.ceil(10 * load))
  process.stderr.write(`NOTICE: load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores: timing bound ${quietMs} ms widened to ${widened} ms\n`)
  return widened
}

/** How much slower than a quiet machine this one runs now (>= 1): divide counts expected per wall second by it. */
export function loadSlowdown(): number {
  return Math.max(1, loadavg()[0] / cpus().length)
}
