import {connectOnce} from '../../src/net/mqtt-connection.js'

/**
 * Waits until a subscriber the test does not control (mosquitto_sub, a CLI) has its subscription in place: publishes
 * a small probe message on `topic` every 100 ms until `seen()` says the subscriber printed one. A fixed sleep would
 * be too short on a loaded machine and wasted time on a quiet one. Rejects after `timeoutMs`.
 */
export async function probeUntilSeen(url: string, topic: string, seen: () => boolean, timeoutMs = 15_000): Promise<void> {
  const client = await connectOnce({url, clientId: `iotd-test-probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`})
  try {
    const deadline = Date.now() + timeoutMs
    while (!seen()) {
      if (Date.now() > deadline) throw new Error(`the subscriber did not see a probe on ${topic} within ${timeoutMs / 1000} s`)
      await client.publishAsync(topic, 'probe', {qos: 0})
      await new Promise((r) => setTimeout(r, 100))
    }
  } finally {
    await client.endAsync()
  }
}
