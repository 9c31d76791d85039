import {randomUUID} from 'node:crypto'
import {z} from 'zod'
import {durationFlagText, flagValue, parseDuration, parseRate, parseSize} from '../config/units.js'
import {duration, size} from '../config/units-schema.js'
import {loadYamlConfig} from '../config/yaml-loader.js'
import {UsageError} from '../errors.js'
import {checkCredentials} from '../net/mqtt-endpoint.js'
import type {BenchMode} from './bench-result.js'
import {buildLoadProfile, DEFAULT_INFLIGHT_PER_CLIENT, parseStage} from '../pacing/load-profile.js'
import {HEADER_BYTES} from './latency-header.js'
import type {BenchRequest} from './run-bench.js'
import {parseThresholds, tryParseThreshold} from '../metrics/thresholds.js'

/**
 * What a user asks `iotd bench` for, in the words they use: flags and bench profile files (scenarios/bench/*.yaml)
 * both produce BenchOptions (units as text, `10000/s`, `30s`), so there is one path from what was typed to the
 * BenchRequest the runner takes. A flag given on the command line overrides the profile's value.
 */

export interface BenchOptions {
  mode?: BenchMode
  broker?: string
  username?: string
  password?: string
  insecure?: boolean
  ca?: string
  cert?: string
  key?: string
  mqttVersion?: '3.1.1' | '5'
  qos?: 0 | 1 | 2
  retain?: boolean
  publishers?: number
  subscribers?: number
  /** Conn mode: connections to open. */
  clients?: number
  topic?: string
  subscribeTopic?: string
  size?: string | number
  rate?: string | number
  stages?: string[]
  duration?: string | number
  warmup?: string | number
  messages?: number
  inflight?: number
  maxLag?: string | number
  thresholds?: string[]
  workers?: number
  sourceIp?: string
  keepalive?: string | number
  connectTimeout?: string | number
  concurrency?: number
  subscribe?: string
  drain?: string | number
  clientIdPrefix?: string
  brokerCount?: boolean
}

// ---- the profile file ---------------------------------------------------------------------------------------------

const positiveInt = z.number().int().positive()

export const benchProfileSchema = z
  .strictObject({
    version: z.literal(1).meta({description: 'Bench profile format version.'}),
    description: z.string().optional(),
    mode: z.enum(['e2e', 'pub', 'sub', 'conn']).optional().meta({description: 'e2e (default), pub, sub or conn.'}),
    broker: z.string().optional().meta({description: 'Broker URL; ${env:NAME} works here.'}),
    username: z.string().optional(),
    password: z.string().optional().meta({description: 'Prefer ${env:NAME}: a profile is committed to a repository.'}),
    insecure: z.boolean().optional(),
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    mqttVersion: z.union([z.literal('3.1.1'), z.literal('5'), z.literal(5)]).transform((v) => (v === 5 ? '5' : v)).optional(),
    qos: z.union([z.literal(0), z.literal(1), z.literal(2)], {error: 'must be 0, 1 or 2'}).optional(),
    retain: z.boolean().optional(),
    publishers: z.number().int().nonnegative().optional(),
    subscribers: z.number().int().nonnegative().optional(),
    clients: positiveInt.optional().meta({description: 'conn mode: connections to open.'}),
    topic: z.string().min(1).optional().meta({description: 'Publish topic; %i is the publisher number, %s the shard.'}),
    subscribeTopic: z.string().min(1).optional(),
    size: size().optional().meta({description: 'Payload size, at least 32 B (the latency header).'}),
    rate: z
      .union([z.string(), z.number()])
      .superRefine((value, ctx) => {
        if (String(value).trim().toLowerCase() === 'max') return
        try {
          parseRate(value)
        } catch (error) {
          ctx.addIssue({code: 'custom', message: `${(error as Error).message} (or "max" for saturation)`, input: value})
        }
      })
      .optional(),
    stages: z
      .array(
        z.string().superRefine((value, ctx) => {
          try {
            parseStage(value)
          } catch (error) {
            ctx.addIssue({code: 'custom', message: (error as Error).message, input: value})
          }
        }),
      )
      .min(1)
      .optional()
      .meta({description: 'DURATION:RATE stages, each ramping from the one before (30s:10000/s).'}),
    duration: duration().optional(),
    warmup: duration().optional(),
    messages: positiveInt.optional(),
    inflight: z.number().int().min(1).max(65_535).optional(),
    maxLag: duration().optional(),
    thresholds: z
      .array(
        z.string().superRefine((value, ctx) => {
          const parsed = tryParseThreshold(value)
          if (!parsed.ok) ctx.addIssue({code: 'custom', message: parsed.problem, input: value})
        }),
      )
      .optional()
      .meta({description: "SLOs in k6's grammar: p(99)<20ms, loss<0.001, rate>=9900/s."}),
    workers: positiveInt.optional(),
    sourceIp: z.string().optional(),
    keepalive: duration().optional(),
    connectTimeout: duration().optional(),
    concurrency: positiveInt.optional(),
    subscribe: z.string().optional(),
    drain: duration().optional(),
    clientIdPrefix: z.string().min(1).optional(),
    brokerCount: z.boolean().optional(),
  })
  .superRefine((p, ctx) => {
    if (p.rate !== undefined && p.stages !== undefined) ctx.addIssue({code: 'custom', path: ['stages'], message: 'give either rate or stages, not both'})
    if (p.stages !== undefined && p.duration !== undefined) ctx.addIssue({code: 'custom', path: ['duration'], message: 'the stages set the run length: drop duration'})
  })

export type BenchProfile = z.output<typeof benchProfileSchema>

/** Reads a bench profile; every problem is a ConfigError with file:line:col (exit 2). */
export function loadBenchProfile(file: string): BenchOptions {
  const {value} = loadYamlConfig(file, benchProfileSchema)
  const {version: _version, description: _description, ...options} = value
  return options as BenchOptions
}

/** Profile values under the command line's: a flag that was given wins. */
export function mergeOptions(profile: BenchOptions, flags: BenchOptions): BenchOptions {
  const out: BenchOptions = {...profile}
  for (const [k, v] of Object.entries(flags) as Array<[keyof BenchOptions, unknown]>) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v
  }
  // A rate on the command line replaces the profile's stages, and stages its rate.
  if (flags.rate !== undefined) delete out.stages
  if (flags.stages !== undefined && flags.stages.length > 0) delete out.rate
  return out
}

// ---- to a request -----------------------------------------------------------------------------------------------

export const BENCH_DEFAULTS = {
  publishers: 10,
  subscribers: 1,
  clients: 1000,
  topic: 'bench/%i',
  size: '100B',
  rate: '10000/s',
  duration: '10s',
  qos: 0,
  maxLag: '1s',
  keepalive: '0s',
  connectTimeout: '10s',
  concurrency: 100,
  drain: '2s',
} as const

/** QoS 1/2 in the open model: the in-flight window is the packet-id space's worth, so only a stalled broker fills it. */
const OPEN_MODEL_INFLIGHT = 16_384

export interface RequestContext {
  commandLine: string[]
  toolVersion: string
  profileFile?: string
  shard?: {index: number; count: number}
  defaultBrokerUrl?: string
  /** --start-at as typed. */
  startAt?: string
  /** --run-id as typed. */
  runId?: string
}

/** Flag text needs a unit (durationFlagText); a profile's value comes as milliseconds from its schema. */
function durationOf(name: string, value: string | number | undefined): number | undefined {
  return typeof value === 'string' ? durationFlagText(name, value) : flagValue(name, value, parseDuration)
}

/** Turns options (flags over profile) into the runner's request, with defaults per mode; bad values are usage errors. */
export function toBenchRequest(o: BenchOptions, ctx: RequestContext): Omit<BenchRequest, 'signal' | 'onSnapshot' | 'onLog'> {
  const mode = o.mode ?? 'e2e'
  const qos = o.qos ?? BENCH_DEFAULTS.qos
  const payloadBytes = flagValue('size', o.size ?? BENCH_DEFAULTS.size, parseSize)
  if (mode !== 'conn' && mode !== 'sub' && payloadBytes < HEADER_BYTES) {
    throw new UsageError(`--size ${o.size}: a bench payload carries a ${HEADER_BYTES}-byte latency header, so it must be at least ${HEADER_BYTES} B`)
  }
  const saturation = String(o.rate ?? '').trim().toLowerCase() === 'max'
  // Conn mode schedules connections: without --rate they are opened as fast as the concurrency allows.
  const rateText = o.stages?.length ? undefined : (o.rate !== undefined ? String(o.rate) : mode === 'conn' ? 'max' : BENCH_DEFAULTS.rate)
  const durationGiven = durationOf('duration', o.duration)
  const runMs = mode === 'conn' ? durationGiven : (durationGiven ?? (o.stages?.length || (o.messages !== undefined && !saturation) ? undefined : parseDuration(BENCH_DEFAULTS.duration)))
  const inflight = o.inflight ?? (saturation ? DEFAULT_INFLIGHT_PER_CLIENT : OPEN_MODEL_INFLIGHT)
  const profile = buildLoadProfile({
    rate: rateText,
    stages: o.stages,
    durationMs: mode === 'conn' || saturation ? undefined : runMs,
    messages: saturation || mode === 'conn' ? undefined : o.messages,
    inflightPerClient: inflight,
  })
  const warmupMs = durationOf('warmup', o.warmup) ?? 0
  if (profile.kind === 'rate') {
    const planMs = profile.stages.reduce((s, st) => s + st.durationMs, 0)
    if (warmupMs > 0 && Number.isFinite(planMs) && warmupMs >= planMs) {
      throw new UsageError(`--warmup ${o.warmup} is not shorter than the run (${planMs / 1000} s): nothing would be measured`, ['the warm-up is the first part of --duration'])
    }
  }
  if (saturation && runMs === undefined && o.messages === undefined) throw new UsageError('--rate max needs --duration or --messages to end')
  const publishers = mode === 'conn' ? (o.clients ?? BENCH_DEFAULTS.clients) : mode === 'sub' ? 0 : (o.publishers ?? BENCH_DEFAULTS.publishers)
  const subscribers = mode === 'e2e' || mode === 'sub' ? (o.subscribers ?? BENCH_DEFAULTS.subscribers) : 0
  if (mode !== 'sub' && mode !== 'conn' && publishers < 1) throw new UsageError('--publishers must be at least 1')
  if (mode === 'sub' && subscribers < 1) throw new UsageError('--subscribers must be at least 1')
  const thresholds = parseThresholds(o.thresholds ?? [])
  const topic = o.topic ?? (mode === 'sub' ? 'bench/#' : BENCH_DEFAULTS.topic)
  if (mode !== 'sub' && /[+#]/.test(topic)) throw new UsageError(`--topic "${topic}": a publish topic cannot contain wildcards`, ['use %i for the publisher number: bench/%i'])
  const keepaliveMs = durationOf('keepalive', o.keepalive) ?? parseDuration(BENCH_DEFAULTS.keepalive)
  const startAtMs = ctx.startAt === undefined ? undefined : parseStartAt(ctx.startAt)
  checkCredentials(o.mqttVersion === '5' ? '5' : '3.1.1', o.username, o.password, o.broker)
  return {
    mode,
    brokerUrl: o.broker,
    defaultBrokerUrl: ctx.defaultBrokerUrl,
    username: o.username,
    password: o.password,
    tls: {ca: o.ca, cert: o.cert, key: o.key, insecure: o.insecure},
    protocolVersion: o.mqttVersion === '5' ? 5 : 4,
    qos,
    retain: o.retain ?? false,
    payloadBytes,
    publishers,
    subscribers,
    topic,
    subscribeTopic: o.subscribeTopic,
    profile,
    durationMs: runMs,
    warmupMs,
    messages: o.messages,
    inflight,
    batch: Math.min(128, inflight),
    maxLagMs: durationOf('max-lag', o.maxLag) ?? parseDuration(BENCH_DEFAULTS.maxLag),
    keepaliveSec: Math.round(keepaliveMs / 1000),
    connectTimeoutMs: durationOf('connect-timeout', o.connectTimeout) ?? parseDuration(BENCH_DEFAULTS.connectTimeout),
    connectConcurrency: o.concurrency ?? BENCH_DEFAULTS.concurrency,
    connSubscribe: o.subscribe,
    workers: o.workers,
    sourceIps: o.sourceIp,
    shard: ctx.shard,
    startAtMs,
    runId: ctx.runId ?? (startAtMs === undefined ? randomUUID() : `start-${new Date(startAtMs).toISOString()}`),
    clientIdPrefix: o.clientIdPrefix ?? `iotd-bench-${process.pid.toString(36)}${ctx.shard ? `-${ctx.shard.index}` : ''}`,
    thresholds,
    commandLine: ctx.commandLine,
    profileFile: ctx.profileFile,
    toolVersion: ctx.toolVersion,
    drainMs: durationOf('drain', o.drain) ?? parseDuration(BENCH_DEFAULTS.drain),
    brokerCount: o.brokerCount ?? true,
  }
}

/**
 * `--start-at`: an instant every shard can name alike, as ISO 8601 with its zone (2026-12-06T21:30:00Z) or Unix
 * seconds. A time without a zone is refused: pods in different zones would read it differently.
 */
export function parseStartAt(text: string): number {
  const trimmed = text.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(trimmed)
  const ms = Date.parse(trimmed)
  if (!zoned || Number.isNaN(ms)) {
    throw new UsageError(`--start-at "${text}": expected an instant with its zone, e.g. 2026-12-06T21:30:00Z, or Unix seconds`, [
      "e.g. --start-at $(date -u -d '+2 min' +%Y-%m-%dT%H:%M:%SZ), the same value for every shard",
    ])
  }
  return ms
}
