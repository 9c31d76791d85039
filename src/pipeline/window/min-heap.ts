/**
 * A binary min-heap ordered by a caller's `before` relation. Operators keep their pending fire times here so a
 * watermark advance looks only at what is due instead of scanning every key.
 */
export class MinHeap<T> {
  private readonly items: T[] = []

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.before(item, items[parent])) break
      items[i] = items[parent]
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    // Sift the former last item down from the root.
    const n = items.length
    let i = 0
    while (true) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      const child = right < n && this.before(items[right], items[left]) ? right : left
      if (!this.before(items[child], last)) break
      items[i] = items[child]
      i = child
    }
    items[i] = last
    return top
  }
}
