import {connectOnce, type MqttEndpoint} from '../net/index.js'

/**
 * The broker's own count of messages received, for the cross-check the summary prints next to the client's count.
 * mosquitto publishes it as `$SYS/broker/publish/messages/received` (retained, every `sys_interval` seconds, 10 by
 * default). Other brokers publish nothing there: then there is no count and the summary says nothing about it.
 */
export const BROKER_RECEIVED_TOPIC = '$SYS/broker/publish/messages/received'

export interface BrokerCounter {
  /** The count now: waits for a publication newer than `after` when given (the value is sys_interval stale). */
  read(opts?: {fresherThan?: number; timeoutMs?: number}): Promise<number | undefined>
  /**
   * The count to measure from: the broker's latest publication, waiting up to `waitMs` for one published since we
   * subscribed (live). The first value a subscriber gets is the retained one, of unknown age: traffic counted
   * since it (a run just before this one) would be taken for this run's.
   */
  baseline(waitMs: number): Promise<{value: number; live: boolean} | undefined>
  close(): Promise<void>
}

/**
 * Subscribes to the broker's counter. Resolves with undefined when the broker does not publish it within
 * `timeoutMs` (not mosquitto, or $SYS disabled), so a benchmark of another broker is not held up.
 */
export async function openBrokerCounter(endpoint: MqttEndpoint, timeoutMs = 3000): Promise<BrokerCounter | undefined> {
  const client = await connectOnce({...endpoint, clientId: `iotd-bench-sys-${process.pid}-${Date.now().toString(36)}`, keepaliveSec: 30})
  let latest: number | undefined
  let latestLive = false
  let updates = 0
  const waiters = new Set<() => void>()
  client.on('message', (topic, payload, packet) => {
    if (topic !== BROKER_RECEIVED_TOPIC) return
    const value = Number(payload.toString('utf8'))
    if (!Number.isFinite(value)) return
    latest = value
    // Delivered because it was just published, not because it was retained when we subscribed.
    latestLive = !packet.retain
    updates++
    for (const w of waiters) w()
  })
  await client.subscribeAsync(BROKER_RECEIVED_TOPIC, {qos: 0})
  const waitFor = (ok: () => boolean, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
      if (ok()) return resolve(true)
      const check = (): void => {
        if (!ok()) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(true)
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        resolve(false)
      }, ms)
      waiters.add(check)
    })
  if (!(await waitFor(() => latest !== undefined, timeoutMs))) {
    await client.endAsync(true)
    return undefined
  }
  return {
    async read(opts = {}) {
      const {fresherThan, timeoutMs: wait = 3000} = opts
      if (fresherThan !== undefined) {
        const seen = updates
        // A newer publication than the one the caller saw, and one that has moved past the caller's value.
        await waitFor(() => updates > seen && latest !== undefined && latest >= fresherThan, wait)
      }
      return latest
    },
    async baseline(waitMs) {
      await waitFor(() => latestLive, waitMs)
      return latest === undefined ? undefined : {value: latest, live: latestLive}
    },
    async close() {
      await client.endAsync(true)
    },
  }
}
