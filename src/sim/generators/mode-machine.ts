import type {Rng} from './prng.js'

/** A device's operating mode (running, idle, fault, ...), a Markov chain stepped once per message. */

export interface ModeConfig {
  initial: string
  transitions?: Record<string, Record<string, number>>
}

export interface ModeMachine {
  readonly current: string
  /** Advances one message; returns the (possibly unchanged) mode. */
  step(): string
  /** Jumps to a mode (a command); the chain goes on from there. */
  set(mode: string): void
}

export function createModeMachine(config: ModeConfig, rng: Rng): ModeMachine {
  const table = new Map(Object.entries(config.transitions ?? {}).map(([from, to]) => [from, Object.entries(to)]))
  let current = config.initial
  return {
    get current() {
      return current
    },
    set(mode) {
      current = mode
    },
    step() {
      const options = table.get(current)
      if (!options || options.length === 0) return current
      // One draw per step keeps the stream aligned whatever the mode; the remainder of 1 means "stay".
      let u = rng.next()
      for (const [to, p] of options) {
        if (u < p) {
          current = to
          break
        }
        u -= p
      }
      return current
    },
  }
}
