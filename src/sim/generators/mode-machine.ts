import {scheduledMode, type ScheduleEntry} from './calendar.js'
import type {Rng} from './prng.js'

/**
 * A device's operating mode (running, idle, fault, ...): a Markov chain stepped once per message, or a schedule
 * that reads the local time of each message (first matching entry; `initial` outside every entry).
 */

export interface ModeConfig {
  initial: string
  transitions?: Record<string, Record<string, number>>
  schedule?: readonly ScheduleEntry[]
  /** Modes only a command or a behaviour module enters (boost): declared, so they can be named there. */
  modes?: readonly string[]
}

/** Every mode a fleet's devices may be in: initial, the transitions', the schedule's and the declared ones, once each. */
export function modeNames(config: ModeConfig): string[] {
  return [...new Set([config.initial, ...Object.keys(config.transitions ?? {}), ...(config.schedule ?? []).map((e) => e.mode), ...(config.modes ?? [])])]
}

export interface ModeMachine {
  readonly current: string
  /** The mode of the first message, at local time localMs (calendar.ts LocalClock). */
  start(localMs: number): string
  /** Advances one message; returns the (possibly unchanged) mode. */
  step(localMs: number): string
  /** Jumps to a mode (a command); the chain goes on from there (a schedule takes over again at the next message). */
  set(mode: string): void
  /** For a schedule: the mode it names at local time localMs, without moving; undefined for a chain. */
  scheduled(localMs: number): string | undefined
}

export function createModeMachine(config: ModeConfig, rng: Rng): ModeMachine {
  const table = new Map(Object.entries(config.transitions ?? {}).map(([from, to]) => [from, Object.entries(to)]))
  const schedule = config.schedule
  let current = config.initial
  if (schedule && schedule.length > 0) {
    const at = (localMs: number) => (current = scheduledMode(schedule, localMs) ?? config.initial)
    return {
      get current() {
        return current
      },
      start: at,
      step: at,
      set(mode) {
        current = mode
      },
      scheduled: (localMs) => scheduledMode(schedule, localMs) ?? config.initial,
    }
  }
  return {
    get current() {
      return current
    },
    start() {
      return current
    },
    set(mode) {
      current = mode
    },
    scheduled: () => undefined,
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
