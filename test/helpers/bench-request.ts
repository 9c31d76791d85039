import {buildLoadProfile, type LoadProfileOptions} from '../../src/pacing/load-profile.js'
import type {BenchRequest} from '../../src/bench/run-bench.js'

/**
 * A runBench request with the CLI's defaults for a small run: 4 publishers, 1 subscriber, QoS 0, 100 B, no broker
 * count unless asked. `load` is the load profile as `iotd bench` flags give it.
 */
export function benchRequest(brokerUrl: string, load: LoadProfileOptions, over: Partial<BenchRequest> = {}): BenchRequest {
  return {
    mode: 'e2e',
    brokerUrl,
    protocolVersion: 4,
    qos: 0,
    retain: false,
    payloadBytes: 100,
    publishers: 4,
    subscribers: 1,
    topic: 'bench/%i',
    profile: buildLoadProfile(load),
    durationMs: load.durationMs,
    warmupMs: 0,
    inflight: 16_384,
    batch: 128,
    maxLagMs: 1000,
    keepaliveSec: 0,
    connectTimeoutMs: 5000,
    connectConcurrency: 50,
    clientIdPrefix: `it-bench-${Math.random().toString(36).slice(2, 8)}`,
    thresholds: [],
    commandLine: [],
    toolVersion: 'test',
    drainMs: 3000,
    brokerCount: false,
    ...over,
  }
}
