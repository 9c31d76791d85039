/**
 * A binary min-heap of (due time, id) pairs: the one scheduler structure for per-device timers. One heap for all
 * devices of a worker instead of a timer per device, so 10,000 devices cost one setTimeout, and popping everything
 * that is due is O(k log n) per tick.
 *
 * Stored in parallel typed arrays (no object per entry) because it sits on the hot path of every message.
 */
export class DueQueue {
  private due: Float64Array
  private ids: Int32Array
  private length = 0

  constructor(capacity = 1024) {
    this.due = new Float64Array(capacity)
    this.ids = new Int32Array(capacity)
  }

  get size(): number {
    return this.length
  }

  /** Due time of the earliest entry, or Infinity when empty. */
  peekDue(): number {
    return this.length > 0 ? this.due[0] : Number.POSITIVE_INFINITY
  }

  peekId(): number {
    return this.length > 0 ? this.ids[0] : -1
  }

  push(due: number, id: number): void {
    if (this.length === this.due.length) this.grow()
    let i = this.length++
    // Sift up.
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.due[parent] <= due) break
      this.due[i] = this.due[parent]
      this.ids[i] = this.ids[parent]
      i = parent
    }
    this.due[i] = due
    this.ids[i] = id
  }

  /** Removes the earliest entry and returns its id (-1 when empty). */
  pop(): number {
    if (this.length === 0) return -1
    const top = this.ids[0]
    const lastDue = this.due[--this.length]
    const lastId = this.ids[this.length]
    let i = 0
    const n = this.length
    // Sift down.
    while (true) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && this.due[right] < this.due[left] ? right : left
      if (this.due[child] >= lastDue) break
      this.due[i] = this.due[child]
      this.ids[i] = this.ids[child]
      i = child
    }
    if (n > 0) {
      this.due[i] = lastDue
      this.ids[i] = lastId
    }
    return top
  }

  clear(): void {
    this.length = 0
  }

  private grow(): void {
    const due = new Float64Array(this.due.length * 2)
    due.set(this.due)
    const ids = new Int32Array(this.ids.length * 2)
    ids.set(this.ids)
    this.due = due
    this.ids = ids
  }
}
