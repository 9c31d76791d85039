import type {DeviceSpec} from '../types.js'
import {hashUniform} from './prng.js'

/**
 * When a device's n-th message is due, relative to its connect: phase + n × every + jitter_n.
 * Jitter is drawn per message from (seed, fleet, index, n), so it never accumulates and any n can be
 * computed directly (a worker resuming after a reconnect does not replay earlier draws).
 */
export function dueOffsetMs(device: DeviceSpec, n: number, seed: number): number {
  const base = device.phaseMs + n * device.everyMs
  if (device.jitterMs <= 0) return base
  // Symmetric in (-jitter, +jitter); the schema keeps jitter below every/2 so messages cannot swap order.
  const u = hashUniform([seed, device.fleet, device.index, 'jitter', n])
  return base + (2 * u - 1) * device.jitterMs
}
