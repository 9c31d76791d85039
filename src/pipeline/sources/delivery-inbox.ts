import type {Delivery} from '../types.js'

/**
 * Where a push-based client (MQTT.js, NATS JetStream) leaves deliveries from its callbacks until the pipeline takes
 * them: every delivery that waited, in arrival order, as one batch, so a burst costs one turn of the pipeline's loop
 * rather than one per message. A failure raised in a callback (a refused subscription, a deleted consumer) is thrown
 * from the reader at its next turn, not lost in the callback.
 */
export class DeliveryInbox {
  private queue: Delivery[] = []
  private wake: (() => void) | undefined
  private fatal: Error | undefined

  /** Deliveries waiting to be taken. */
  get length(): number {
    return this.queue.length
  }

  push(delivery: Delivery): void {
    this.queue.push(delivery)
    this.wake?.()
  }

  /** The first failure is the one the reader throws. */
  fail(err: Error): void {
    this.fatal ??= err
    this.wake?.()
  }

  /** Lets a waiting reader look again (the source is closing). */
  nudge(): void {
    this.wake?.()
  }

  /**
   * Batches until the signal aborts or `closing()` holds. `taken` runs when a batch leaves the inbox, before the
   * reader sees it: a source with flow control reopens it there.
   */
  async *batches(signal: AbortSignal, closing: () => boolean, taken?: () => void): AsyncIterable<readonly Delivery[]> {
    const onAbort = () => this.wake?.()
    signal.addEventListener('abort', onAbort, {once: true})
    try {
      while (!signal.aborted && !closing()) {
        if (this.fatal) throw this.fatal
        if (this.queue.length > 0) {
          const batch = this.queue
          this.queue = []
          taken?.()
          yield batch
          continue
        }
        await new Promise<void>((resolve) => (this.wake = resolve))
        this.wake = undefined
      }
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }
}
