import type {SimSnapshot} from '../../sim/types.js'

/**
 * The external store the live view reads with useSyncExternalStore: the reporter's update()/log() calls replace
 * the state object, and Ink (throttled by maxFps) redraws. Kept free of React and Ink so it is cheap to test.
 */

export type LogLevel = 'info' | 'warn' | 'error'

export interface LogEntry {
  /** Stable key for Ink's <Static>, which prints each entry once. */
  id: number
  text: string
  level: LogLevel
}

export interface LiveState<S> {
  snapshot?: S
  /** Total msg/s of the most recent snapshots, oldest first (at most THROUGHPUT_HISTORY). */
  throughput: readonly number[]
  logs: readonly LogEntry[]
  /** Set by finish(): the live area is removed, printed log lines stay. */
  finished: boolean
}

/** About a minute of once-a-second snapshots, the span the sparkline shows. */
export const THROUGHPUT_HISTORY = 60

export interface LiveStore<S> {
  getState(): LiveState<S>
  subscribe(listener: () => void): () => void
  update(snapshot: S): void
  log(text: string, level: LogLevel): void
  finish(): void
}

export type LiveSimState = LiveState<SimSnapshot>
export type LiveSimStore = LiveStore<SimSnapshot>

/** The store of `iotd sim`'s live view: the throughput history is the fleet's total msg/s. */
export function createLiveSimStore(): LiveSimStore {
  return createLiveStore<SimSnapshot>((s) => s.totals.msgRate)
}

/** A live view's store for any run; `rateOf` picks the figure the throughput sparkline follows. */
export function createLiveStore<S>(rateOf: (snapshot: S) => number): LiveStore<S> {
  let state: LiveState<S> = {throughput: [], logs: [], finished: false}
  let nextLogId = 0
  const listeners = new Set<() => void>()
  const set = (next: LiveState<S>) => {
    state = next
    for (const listener of listeners) listener()
  }
  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    update(snapshot) {
      if (state.finished) return
      const throughput = [...state.throughput, rateOf(snapshot)].slice(-THROUGHPUT_HISTORY)
      set({...state, snapshot, throughput})
    },
    log(text, level) {
      // <Static> prints only entries it has not seen, by position, so entries are appended and never removed.
      set({...state, logs: [...state.logs, {id: nextLogId++, text, level}]})
    },
    finish() {
      if (!state.finished) set({...state, finished: true})
    },
  }
}
