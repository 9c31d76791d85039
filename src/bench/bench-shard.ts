import {UsageError} from '../errors.js'
import {assignSourceAddress, parseSourceAddresses, type MqttEndpoint} from '../net/index.js'
import {equalShare, splitProfile, type RateProfile} from '../pacing/load-profile.js'
import {shardPart} from '../pacing/shard-part.js'
import type {BenchWorkerSetup, PublisherSetup, SubscriberSetup} from './protocol.js'
import type {BenchRequest} from './bench-request.js'

/** The clients of this shard (global ids) and its part of the whole run's load. */
export interface ShardPlan {
  shard: {index: number; count: number}
  pubIds: number[]
  subIds: number[]
  connIds: number[]
  /** This shard's part of the whole run's load: each publisher owns an equal share of the schedule. */
  shardFraction: number
  totalClients: number
  sourceAddresses: string[]
}

export function planShard(req: BenchRequest, log: (message: string, level: 'warn') => void): ShardPlan {
  const shard = req.shard ?? {index: 0, count: 1}
  const mode = req.mode
  const pubIds = mode === 'e2e' || mode === 'pub' ? shardMembers(req.publishers, shard) : []
  const subIds = mode === 'e2e' || mode === 'sub' ? shardMembers(req.subscribers, shard) : []
  const connIds = mode === 'conn' ? shardMembers(req.publishers, shard) : []
  const shardFraction = req.publishers > 0 ? (mode === 'conn' ? connIds.length : pubIds.length) / req.publishers : 0
  if (pubIds.length + subIds.length + connIds.length === 0) {
    throw new UsageError(`shard ${shard.index + 1}/${shard.count} has no clients: ${req.publishers} publishers and ${req.subscribers} subscribers do not go round ${shard.count} shards`)
  }
  if (mode === 'e2e' && subIds.length === 0) log(`shard ${shard.index + 1}/${shard.count} has no subscriber: it measures publishing only`, 'warn')
  let sourceAddresses: string[] = []
  if (req.sourceIps) {
    try {
      sourceAddresses = parseSourceAddresses(req.sourceIps)
    } catch (error) {
      throw new UsageError((error as Error).message)
    }
  }
  return {shard, pubIds, subIds, connIds, shardFraction, totalClients: pubIds.length + subIds.length + connIds.length, sourceAddresses}
}

/** The global ids of the clients one shard owns, of `total`: every `count`-th, starting at `index` (shardPart). */
function shardMembers(total: number, shard: {index: number; count: number}): number[] {
  return shardPart(Array.from({length: total}, (_, id) => id), shard)
}

/** The subscription filter that covers a topic pattern: every level with a placeholder becomes `+`. */
export function filterForTopic(pattern: string): string {
  return pattern
    .split('/')
    .map((level) => (/%[a-z]/.test(level) ? '+' : level))
    .join('/')
}

export function expandTopic(pattern: string, values: {i: number; s: number; c: string}): string {
  return pattern.replace(/%([isc])/g, (_, k: 'i' | 's' | 'c') => String(values[k]))
}

/** The filter the run's subscribers subscribe to: --sub-topic, else the topic (subscribe-only) or the filter covering it. */
export function subscriptionFilter(req: Pick<BenchRequest, 'mode' | 'topic' | 'subscribeTopic'>): string {
  return req.subscribeTopic ?? (req.mode === 'sub' ? req.topic : filterForTopic(req.topic))
}

/** One setup per worker: the shard's subscribers first, then its publishers (or connections), spread round-robin. */
export function workerSetups(req: BenchRequest, plan: ShardPlan, broker: {host: string; port: number; endpoint: MqttEndpoint}, workerCount: number, clockEpoch: BenchWorkerSetup['clockEpoch']): BenchWorkerSetup[] {
  const {mode} = req
  const {shard, pubIds, subIds, connIds, sourceAddresses} = plan
  const filter = subscriptionFilter(req)
  const setups: BenchWorkerSetup[] = Array.from({length: workerCount}, (_, w) => ({
    workerId: w,
    clockEpoch,
    broker: {
      host: broker.host,
      port: broker.port,
      username: broker.endpoint.username,
      password: broker.endpoint.password,
      keepaliveSec: req.keepaliveSec,
      connectTimeoutMs: req.connectTimeoutMs,
      tls: broker.endpoint.tls,
    },
    protocolVersion: req.protocolVersion,
    qos: req.qos,
    retain: req.retain,
    payloadBytes: req.payloadBytes,
    publishers: [],
    subscribers: [],
    inflight: req.inflight,
    batch: req.batch,
    maxLagMs: req.maxLagMs,
    joinRunningStream: mode === 'sub',
  }))
  let ordinal = 0
  const profile = req.profile
  subIds.forEach((id, k) => {
    const sub: SubscriberSetup = {id, filter, clientId: `${req.clientIdPrefix}-s${id}`, sourceAddress: assignSourceAddress(ordinal++, sourceAddresses)}
    setups[k % workerCount].subscribers.push(sub)
  })
  const saturationLimit = (g: number): number =>
    req.messages === undefined ? Number.POSITIVE_INFINITY : Math.floor((req.messages * (g + 1)) / req.publishers) - Math.floor((req.messages * g) / req.publishers)
  pubIds.forEach((id, k) => {
    const pub: PublisherSetup = {
      id,
      topic: expandTopic(req.topic, {i: id, s: shard.index, c: `${req.clientIdPrefix}-p${id}`}),
      clientId: `${req.clientIdPrefix}-p${id}`,
      profile: profile.kind === 'rate' ? splitProfile(profile, equalShare(id, req.publishers)) : undefined,
      messageLimit: profile.kind === 'rate' ? Number.POSITIVE_INFINITY : saturationLimit(id),
      sourceAddress: assignSourceAddress(ordinal++, sourceAddresses),
    }
    setups[(k + subIds.length) % workerCount].publishers.push(pub)
  })
  if (mode === 'conn') {
    for (let w = 0; w < workerCount; w++) {
      const mine = connIds.filter((_, k) => k % workerCount === w)
      // The connect rate's schedule ends with the last connection: each worker owns every workerCount-th one.
      const connectProfile: RateProfile | undefined =
        profile.kind === 'rate' ? splitProfile({...profile, limit: connIds.length}, equalShare(w, workerCount)) : undefined
      setups[w].connector = {
        clients: mine.map((id) => ({clientId: `${req.clientIdPrefix}-c${id}`, sourceAddress: assignSourceAddress(id, sourceAddresses)})),
        profile: connectProfile,
        subscribe: req.connSubscribe,
        concurrency: req.connectConcurrency,
      }
    }
  }
  return setups
}

/** Workers that report publishers-done: those with publishers or connections to open. */
export function workersWithLoad(setups: BenchWorkerSetup[]): number {
  const n = setups.filter((s) => s.publishers.length > 0 || (s.connector?.clients.length ?? 0) > 0).length
  // Subscribe-only runs end by duration or Ctrl-C only.
  return n === 0 ? Number.POSITIVE_INFINITY : n
}
