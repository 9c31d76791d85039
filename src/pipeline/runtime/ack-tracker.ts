/**
 * At-least-once bookkeeping: one tracker per source message that can be acknowledged. `pending` counts what still
 * holds the message — the runtime while it processes it, each window holding it, each (row, sink) pair not yet
 * accepted — and the source's ack runs when it reaches zero. Sources that cannot ack (NOOP_ACK) get no tracker.
 */
export class AckTracker {
  pending = 1
  constructor(private readonly ack: () => void) {}

  hold(n = 1): void {
    this.pending += n
  }

  release(): void {
    if (--this.pending === 0) this.ack()
  }
}

export function holdAll(acks: readonly unknown[], n: number): void {
  if (n === 0) return
  for (const a of acks) (a as AckTracker).hold(n)
}

export function releaseAll(acks: readonly unknown[]): void {
  for (const a of acks) (a as AckTracker).release()
}
