import type {DeviceSpec} from '../types.js'
import {hashUniformSeries} from './prng.js'

/**
 * When a device's n-th message is due, relative to its connect: phase + n × every + jitter_n.
 * Jitter is drawn per message from (seed, fleet, index, n), so it never accumulates and any n can be
 * computed directly (a worker resuming after a reconnect does not replay earlier draws).
 */
export function dueOffsetMs(device: DeviceSpec, n: number, seed: number): number {
  return dueSchedule(device, seed)(n)
}

/** dueOffsetMs for one device, made once: what a worker or a backfill asks for every message of that device. */
export function dueSchedule(device: DeviceSpec, seed: number): (n: number) => number {
  const {phaseMs, everyMs, jitterMs} = device
  if (jitterMs <= 0) return (n) => phaseMs + n * everyMs
  const jitter = hashUniformSeries([seed, device.fleet, device.index, 'jitter'])
  // Symmetric in (-jitter, +jitter); the schema keeps jitter below every/2 so messages cannot swap order.
  return (n) => phaseMs + n * everyMs + (2 * jitter(n) - 1) * jitterMs
}
