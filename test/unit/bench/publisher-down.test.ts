import type {Socket} from 'node:net'
import {PassThrough} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {BenchPublisher} from '../../../src/bench/publisher.js'
import {benchMicrosAt} from '../../../src/bench/latency-header.js'
import {SecondCounts} from '../../../src/bench/second-counts.js'
import {createHistogram} from '../../../src/metrics/histogram.js'
import {buildLoadProfile} from '../../../src/pacing/load-profile.js'
import {OpenLoopScheduler} from '../../../src/pacing/open-loop.js'

/** A publisher at 1,000/s whose connection is lost 100 ms in; the clock is passed by hand to pump and scheduleStats. */
async function publisherDown100msIn(): Promise<{publisher: BenchPublisher; t0: number}> {
  const profile = buildLoadProfile({rate: '1000/s', durationMs: 10_000})
  if (profile.kind !== 'rate') throw new Error('expected an open-model profile')
  const t0 = performance.now()
  const scheduler = new OpenLoopScheduler(profile, {now: () => t0, startMs: t0})
  const socket = new PassThrough()
  const publisher = new BenchPublisher(socket as unknown as Socket, {
    id: 0,
    topic: 'bench/0',
    qos: 0,
    retain: false,
    payloadBytes: 100,
    protocolVersion: 4,
    scheduler,
    messageLimit: Number.POSITIVE_INFINITY,
    inflight: 100,
    batch: 1024,
    startMs: t0,
    // No warm-up: every message is measured.
    measureFromUs: benchMicrosAt(t0) - 1000,
    sentBySecond: new SecondCounts(),
    ackHistogram: () => createHistogram(),
    wake: () => {},
    onError: () => {},
    onDisconnect: () => {},
  })
  publisher.pump(t0 + 100)
  socket.destroy()
  await new Promise((resolve) => setImmediate(resolve))
  return {publisher, t0}
}

describe('BenchPublisher without a broker connection', () => {
  it('counts every send due until the end as dropped while down, also those since its last turn', async () => {
    const {publisher, t0} = await publisherDown100msIn()
    expect(publisher.downSinceMs).toBeDefined()
    const sent = publisher.counters.sent
    expect(sent).toBeGreaterThan(90)
    // One turn while down (100 ms more), then sending stops 300 ms later with no turn in between.
    publisher.pump(t0 + 200)
    const atTurn = publisher.counters.droppedDown
    expect(atTurn).toBeGreaterThan(90)
    const final = publisher.scheduleStats(t0 + 500, true)
    expect(final.planned).toBe(sent + final.dropped)
    expect(final.dropped).toBeGreaterThan(atTurn + 250)
    // Every drop fell due while the connection was down: none is put down to the client's pace.
    expect(publisher.counters.droppedDown).toBe(final.dropped)
  })
})
