/**
 * Counts of bench events by the second of the run they belong to (second 0 starts at the measured window's start;
 * the warm-up's seconds are negative). Each event is counted in its own second when it happens (a send by its
 * intended time, a delivery by its arrival), so a timeline row holds exactly that second's events however late the
 * report that carries them, and the rows add up to the run's totals.
 *
 * A worker keeps one per kind of event; every report takes what was added since the last one.
 */
export class SecondCounts {
  private readonly pending = new Map<number, number>()
  /** The second being counted now and its count so far: events come in order, so nearly every add is this one. */
  private second = Number.NaN
  private inSecond = 0

  /** Counts `n` events in `second` (called per message on the hot path: a compare and an add). */
  add(second: number, n = 1): void {
    if (second === this.second) {
      this.inSecond += n
      return
    }
    this.settle()
    this.second = second
    this.inSecond = n
  }

  /** What was added since the last take, as [second, count] pairs; starts afresh. */
  take(): Array<[number, number]> {
    this.settle()
    this.second = Number.NaN
    const out = [...this.pending]
    this.pending.clear()
    return out
  }

  private settle(): void {
    if (this.inSecond > 0) this.pending.set(this.second, (this.pending.get(this.second) ?? 0) + this.inSecond)
    this.inSecond = 0
  }
}

/** The run second (0 = the measured window's first) of a bench-clock instant, given the window's start (µs). */
export function runSecondOf(us: number, measureFromUs: number): number {
  return Math.floor((us - measureFromUs) / 1_000_000)
}
