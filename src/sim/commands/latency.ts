import type {Rng} from '../generators/index.js'
import type {LatencySpec} from './config.js'

/** One delay (ms) from a command's latency distribution, drawn from the device's own seeded stream. */
export function drawLatency(spec: LatencySpec, rng: Rng): number {
  switch (spec.kind) {
    case 'fixed':
      return spec.ms
    case 'uniform':
      return spec.min + rng.next() * (spec.max - spec.min)
    case 'normal':
      return Math.min(spec.max, Math.max(spec.min, spec.mean + rng.gaussian() * spec.stddev))
  }
}
