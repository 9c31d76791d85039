import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import {checkConnectionCapacity, connectWithRetry, parseEndpointUrl, parseSourceAddresses, redactUrl} from '../net/index.js'
import type {ResolvedBroker} from '../net/index.js'
import {INSECURE_TLS_WARNING} from '../net/tls-files.js'
import {expandDevices, refuseShardBesideFleets, shardLimit, type Scenario} from './scenario/index.js'
import {scenarioFingerprint} from './scenario/fingerprint.js'
import {runFleet, type BesideDevices} from './fleet/engine.js'
import {HealthSampler} from '../metrics/health-sampler.js'
import type {ModbusCounters, ModbusListenerInfo} from './modbus/simulator.js'
import type {Threshold} from '../metrics/thresholds.js'
import type {SparkplugCounters, SparkplugSimulation} from './sparkplug/simulator.js'
import {stateTopic} from '../sparkplug/topic.js'
import {emptyCounters, type AnomalyLabel, type FleetCounters, type LatencyFigures, type SimSnapshot, type SimSummary} from './types.js'

/**
 * `iotd sim` as a library call: picks the broker (the user's, one on 127.0.0.1:1883, or the embedded one),
 * checks that the machine can hold the fleet, makes sure the broker answers (retrying with backoff), runs the
 * fleet and always closes what it started.
 */

export interface SimulationRequest {
  scenario: Scenario
  scenarioName: string
  /** Overrides the scenario's broker URL. */
  brokerUrl?: string
  /** Where to look for a broker, and start the embedded one, when none is named (default mqtt://127.0.0.1:1883). */
  defaultBrokerUrl?: string
  username?: string
  password?: string
  /** TLS files (--ca/--cert/--key) over the scenario's broker.tls; `insecure` skips verification (warned about). */
  ca?: string
  cert?: string
  key?: string
  insecure?: boolean
  durationMs?: number
  limit?: number
  workers?: number
  fleets?: string[]
  /** Run only shard `index` (0-based) of `count`: every count-th device (expand.ts); the limit is split the same way. */
  shard?: {index: number; count: number}
  sourceIps?: string
  labelsFile?: string
  /** `--threshold`s, judged on the MQTT fleet at the end of the run. */
  thresholds?: readonly Threshold[]
  signal?: AbortSignal
  onSnapshot?: (snapshot: SimSnapshot) => void
  onLog?: (message: string, level: 'info' | 'warn' | 'error') => void
}

/** Attempts of the broker check before the fleet starts; a broker that is down ends the run with exit 1. */
const BROKER_CHECK_ATTEMPTS = 5

/** What a run with a `modbus:` section adds to the summary (--json shows it). */
export interface ModbusRunSummary {
  listeners: ModbusListenerInfo[]
  groups: ModbusCounters[]
  mirrorErrors: number
}

/** What a run with a `sparkplug:` section adds to the summary (--json shows it). */
export interface SparkplugRunSummary {
  groups: SparkplugCounters[]
}

export type SimulationSummary = SimSummary & {modbus?: ModbusRunSummary; sparkplug?: SparkplugRunSummary}

export async function runSimulation(req: SimulationRequest): Promise<SimulationSummary> {
  const scenario = withOverrides(req.scenario, req)
  refuseShardBesideFleets(scenario, req.shard)
  const devices = scenario.fleets.length === 0 ? [] : expandDevices(scenario, {fleets: req.fleets, shard: req.shard})
  const besideFleet = scenario.modbus.length > 0 || scenario.sparkplug.length > 0
  const modbusOnly = devices.length === 0 && besideFleet && scenario.sparkplug.length === 0
  if (devices.length === 0 && !besideFleet) throw new UsageError(req.fleets ? `no devices: --fleet ${req.fleets.join(',')} names no fleet of the scenario` : 'no devices: the scenario has no fleets, modbus: or sparkplug: sections')
  if (devices.length === 0 && scenario.sparkplug.length === 0 && req.thresholds && req.thresholds.length > 0) {
    throw new UsageError('--threshold judges the MQTT fleet and the Sparkplug edge nodes, and this run has neither', ['drop --threshold, or add an MQTT fleet to the scenario'])
  }
  const sourceSpec = req.sourceIps ?? scenario.broker.sourceIps
  let sourceAddresses: string[] = []
  try {
    sourceAddresses = sourceSpec === undefined ? [] : parseSourceAddresses(sourceSpec)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }

  const userUrl = scenario.broker.url
  const needsBroker = !modbusOnly || scenario.modbus.some((g) => g.mirror)
  const embedding = userUrl === undefined
  const capacity = checkConnectionCapacity({
    connections: devices.length,
    sourceAddresses: Math.max(1, sourceAddresses.length),
    brokerIsLocal: userUrl === undefined || isLoopback(userUrl),
    embeddedBroker: embedding,
  })
  if (!capacity.ok) {
    throw new IotdError(`the fleet does not fit this machine: ${capacity.problems.join('; ')}`, EXIT_CODES.usage, capacity.advice)
  }

  // The embedded-broker module loads aedes: only when the user named no broker is it imported.
  const resolved: ResolvedBroker = !needsBroker
    ? {url: ''}
    : userUrl === undefined
      ? await (await import('../net/embedded-broker.js')).resolveBroker({defaultUrl: req.defaultBrokerUrl})
      : {url: userUrl}
  if (resolved.embedded && scenario.broker.protocol === '5') {
    await resolved.embedded.close()
    throw embeddedSpeaksNoMqtt5(resolved.url)
  }
  if (resolved.note) req.onLog?.(resolved.note, 'info')
  const labelsFile = req.labelsFile ?? scenario.labels
  try {
    if (needsBroker && !resolved.embedded) await checkBroker(scenario, resolved.url, req)
    if (!besideFleet) {
      const summary = await runMqttFleet(scenario, devices, resolved, sourceAddresses, labelsFile, req)
      return req.shard ? {...summary, shard: req.shard, definition: scenarioFingerprint(req.scenario, {fleets: req.fleets})} : summary
    }
    return await runBesideFleet(scenario, devices, resolved, sourceAddresses, labelsFile, req)
  } finally {
    await resolved.embedded?.close()
  }
}

function runMqttFleet(scenario: Scenario, devices: ReturnType<typeof expandDevices>, resolved: ResolvedBroker, sourceAddresses: string[], labelsFile: string | undefined, req: SimulationRequest, beside?: BesideDevices): Promise<SimSummary> {
  return runFleet({
    scenario,
    scenarioName: req.scenarioName,
    devices,
    brokerUrl: resolved.url,
    brokerLabel: redactUrl(resolved.url),
    embeddedBroker: resolved.embedded !== undefined,
    workers: req.workers,
    durationMs: req.durationMs ?? scenario.durationMs,
    messageLimit: shardLimit(req.limit ?? scenario.limit, req.shard),
    sourceAddresses,
    labelsFile,
    thresholds: req.thresholds,
    onSnapshot: req.onSnapshot,
    onLog: req.onLog,
    signal: req.signal,
    beside,
  })
}

/**
 * The Modbus groups and the Sparkplug edge nodes run in this thread beside the MQTT fleet (whose workers are busy
 * with MQTT): Modbus listeners first, so a port that is taken ends the run before any device connects, then the
 * Sparkplug nodes and the fleet, then all stop together.
 */
async function runBesideFleet(scenario: Scenario, devices: ReturnType<typeof expandDevices>, resolved: ResolvedBroker, sourceAddresses: string[], labelsFile: string | undefined, req: SimulationRequest): Promise<SimulationSummary> {
  const {appendFileSync, writeFileSync} = await import('node:fs')
  const {startModbusSimulation} = await import('./modbus/simulator.js')
  const startedAt = Date.now()
  // The fleet engine runs the MQTT fleet and the Sparkplug edge nodes beside it (their rows join its snapshots and
  // totals); a run of Modbus groups only has nothing for it to count.
  const engine = devices.length > 0 || scenario.sparkplug.length > 0
  // The fleet engine truncates the labels file when it starts; Modbus labels are held until then.
  let held: AnomalyLabel[] | undefined = engine ? [] : undefined
  let labelCount = 0
  if (labelsFile && !engine) writeFileSync(labelsFile, '')
  const writeLabel = (label: AnomalyLabel) => {
    labelCount++
    if (!labelsFile) return
    if (held) held.push(label)
    else appendFileSync(labelsFile, `${JSON.stringify(label)}\n`)
  }
  let mirrorErrors = 0
  const mirrorClient = scenario.modbus.some((g) => g.mirror) ? await connectMirror(scenario, resolved.url, req) : undefined
  const sim = scenario.modbus.length === 0 ? undefined : await startModbusSimulation({
    scenario,
    onLabel: writeLabel,
    onLog: req.onLog,
    mirror: mirrorClient
      ? (topic, payload, qos, retain) => {
          mirrorClient.publish(topic, payload, {qos, retain}, (err) => {
            if (err) mirrorErrors++
          })
        }
      : undefined,
  }).catch(async (error: Error & {code?: string}) => {
    await mirrorClient?.endAsync()
    throw new IotdError(error.message, EXIT_CODES.runtime, error.code === 'EADDRINUSE' ? ['another process listens there: change port: in the modbus group, or use port: 0 for ports chosen by the OS'] : [])
  })
  for (const line of describeListeners(sim?.listeners ?? [])) req.onLog?.(line, 'info')
  const below = sim ? await ephemeralLow() : undefined
  if (sim && below !== undefined && sim.listeners.some((l) => l.port >= below && scenario.modbus.find((g) => g.name === l.group)?.port !== 0)) {
    req.onLog?.(`a Modbus listener port is inside the ephemeral range (from ${below}): outgoing connections may take it; prefer ports below ${below}`, 'warn')
  }
  const sparkplugModule = scenario.sparkplug.length === 0 ? undefined : await import('./sparkplug/simulator.js')
  const sparkplug = sparkplugModule?.startSparkplugSimulation({scenario, brokerUrl: resolved.url, onLog: req.onLog})
  let summary: SimSummary
  try {
    if (engine) {
      const fleet = runMqttFleet(scenario, devices, resolved, sourceAddresses, labelsFile, req, sparkplug && sparkplugModule && sparkplugBeside(sparkplug, sparkplugModule.sparkplugFleetRow))
      // runFleet truncated the labels file synchronously when it started: the held labels go after that.
      if (labelsFile && held && held.length > 0) appendFileSync(labelsFile, held.map((l) => `${JSON.stringify(l)}\n`).join(''))
      held = undefined
      summary = await fleet
    } else {
      summary = await waitModbusOnly(scenario, req, startedAt, resolved)
    }
  } finally {
    // The engine stopped the edge nodes with its workers; this is for a run that failed before.
    await sparkplug?.stop()
    await sim?.stop()
    await mirrorClient?.endAsync()
  }
  const sparkplugGroups = sparkplug?.counters()
  const sparkplugSummary = sparkplugGroups ? {sparkplug: {groups: sparkplugGroups}} : {}
  const groups = sim?.counters()
  if (sparkplugGroups) summary = judgeSparkplug(summary, scenario, sparkplugGroups, devices.length === 0 && (groups ?? []).every((g) => g.requests === 0 && g.mirrored === 0), req)
  if (!sim || !groups) return {...summary, ...sparkplugSummary}
  const total = groups.reduce((a, g) => ({requests: a.requests + g.requests, exceptions: a.exceptions + g.exceptions, unanswered: a.unanswered + g.unanswered, writes: a.writes + g.writes}), {requests: 0, exceptions: 0, unanswered: 0, writes: 0})
  req.onLog?.(`modbus: ${sim.devices.length} device${sim.devices.length === 1 ? '' : 's'} answered ${total.requests} requests (${total.exceptions} exceptions, ${total.unanswered} unanswered, ${total.writes} writes)`, 'info')
  return {
    ...summary,
    labelsFile: summary.labelsFile ?? (labelsFile && labelCount > 0 ? labelsFile : undefined),
    labels: (summary.labels ?? 0) + labelCount,
    modbus: {listeners: sim.listeners, groups, mirrorErrors},
    ...sparkplugSummary,
  }
}

/** The edge nodes as devices beside the fleet engine's workers: one fleet row per Sparkplug group. */
function sparkplugBeside(sparkplug: SparkplugSimulation, row: (c: SparkplugCounters) => FleetCounters): BesideDevices {
  return {
    rows: () => sparkplug.counters().map(row),
    delivered: () => sparkplug.counters().reduce((sum, c) => sum + c.delivered, 0),
    stop: () => sparkplug.stop(),
  }
}

/**
 * A Sparkplug group whose samples fell due while nothing was published: its primary host never said online, or its
 * edge nodes never reached the broker. Said as a warning naming the cause; when the Sparkplug side was all the run
 * did (no MQTT fleet, no Modbus request answered or mirrored), the run did nothing it was asked and exits 1.
 */
function judgeSparkplug(summary: SimSummary, scenario: Scenario, groups: SparkplugCounters[], sparkplugIsTheRun: boolean, req: SimulationRequest): SimSummary {
  const warnings: string[] = []
  for (const g of groups) {
    if (g.published > 0 || g.held === 0) continue
    const host = scenario.sparkplug.find((c) => c.name === g.name)?.primaryHost
    const who = groups.length > 1 ? `sparkplug ${g.name}: ` : ''
    const held = `${g.held} sample${g.held === 1 ? '' : 's'} held, nothing published`
    if (g.sessions === 0) warnings.push(`${who}no edge node of group ${g.group} ever connected to the broker: ${held}`)
    else if (host !== undefined) warnings.push(`${who}primary host ${host} never came online (no STATE online on ${stateTopic(host)}): ${held}`)
    else warnings.push(`${who}the edge nodes of group ${g.group} were never born: ${held}`)
  }
  for (const w of warnings) req.onLog?.(w, 'warn')
  const published = groups.reduce((a, g) => a + g.published, 0)
  const held = groups.reduce((a, g) => a + g.held, 0)
  const nothing = sparkplugIsTheRun && published === 0 && held > 0
  const neverConnected = nothing && groups.every((g) => g.sessions === 0)
  return {
    ...summary,
    warnings: [...summary.warnings, ...warnings],
    ...(nothing && {neverConnected, publishedNothing: !neverConnected}),
  }
}

/** One line per group: where its listeners are and which unit ids answer there. */
export function describeListeners(listeners: ModbusListenerInfo[]): string[] {
  const byGroup = new Map<string, ModbusListenerInfo[]>()
  for (const l of listeners) byGroup.set(l.group, [...(byGroup.get(l.group) ?? []), l])
  return [...byGroup.entries()].map(([group, ls]) => {
    const ports = ls.map((l) => l.port)
    const contiguous = ports.every((p, i) => i === 0 || p === ports[i - 1] + 1)
    const rtu = ls[0].transport === 'rtu-tcp' ? ' RTU over TCP' : ''
    const where = ls[0].path ? `serial line ${ls[0].path}` : ls.length === 1 ? `${ls[0].host}:${ports[0]}${rtu}` : contiguous ? `${ls[0].host}:${ports[0]}-${ports[ports.length - 1]}` : `${ls[0].host} ports ${ports.join(',')}`
    const units = ls[0].units
    const ids = units.length > 2 && units.every((u, i) => i === 0 || u === units[i - 1] + 1) ? `${units[0]}-${units[units.length - 1]}` : units.join(',')
    return `modbus: ${group} listening on ${where} (${ls.length} listener${ls.length === 1 ? '' : 's'} × unit ids ${ids})`
  })
}

async function ephemeralLow(): Promise<number | undefined> {
  try {
    const {readSystemLimits} = await import('../net/capacity.js')
    return readSystemLimits().localPortRange?.low
  } catch {
    return undefined
  }
}

async function connectMirror(scenario: Scenario, url: string, req: SimulationRequest) {
  const b = scenario.broker
  return connectWithRetry(
    {url, protocol: b.protocol, username: b.username, password: b.password, tls: b.tls, clientId: `iotd-modbus-mirror-${process.pid}`, connectTimeoutMs: scenario.connect.timeout},
    {attempts: BROKER_CHECK_ATTEMPTS, initialMs: 500, maxMs: 5000, multiplier: 2, jitter: 'full', signal: req.signal},
  )
}

const ZERO_FIGURES: LatencyFigures = {count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0}

/** A run with only Modbus groups: it lasts until --duration or Ctrl-C; the summary carries no MQTT fleets. */
async function waitModbusOnly(scenario: Scenario, req: SimulationRequest, startedAt: number, resolved: ResolvedBroker): Promise<SimSummary> {
  const durationMs = req.durationMs ?? scenario.durationMs
  // Without the fleet engine nothing measures the client's health: it is measured here, by the engine's sampler,
  // every second, so the peak memory is the run's and not its last moment's.
  const health = new HealthSampler()
  const sampling = setInterval(() => health.sample(), 1000)
  await new Promise<void>((resolve) => {
    const timer = durationMs === undefined ? undefined : setTimeout(resolve, durationMs)
    if (req.signal?.aborted) resolve()
    req.signal?.addEventListener('abort', () => {
      if (timer) clearTimeout(timer)
      resolve()
    })
  }).finally(() => clearInterval(sampling))
  const last = health.sample()
  const run = health.runHealth()
  health.stop()
  return {
    schemaVersion: 1,
    scenario: req.scenarioName,
    seed: scenario.seed,
    broker: resolved.url ? redactUrl(resolved.url) : 'none',
    embeddedBroker: resolved.embedded !== undefined,
    startedAt: new Date(startedAt).toISOString(),
    elapsedMs: Date.now() - startedAt,
    interrupted: req.signal?.aborted ?? false,
    devices: 0,
    workers: 0,
    fleets: [],
    totals: emptyCounters('total'),
    publishLag: ZERO_FIGURES,
    ackLatency: ZERO_FIGURES,
    connectLatency: ZERO_FIGURES,
    health: {...last, ...run, peakRssBytes: health.peakRssBytes},
    warnings: [],
    neverConnected: false,
    delivered: 0,
  }
}

/** One connection before the fleet starts, so a wrong URL or refused credentials end the run with one message. */
async function checkBroker(scenario: Scenario, url: string, req: SimulationRequest): Promise<void> {
  const b = scenario.broker
  const client = await connectWithRetry(
    {
      url,
      protocol: b.protocol,
      username: b.username,
      password: b.password,
      tls: b.tls,
      clientId: `iotd-check-${process.pid}-${Date.now().toString(36)}`,
      connectTimeoutMs: scenario.connect.timeout,
    },
    {
      attempts: BROKER_CHECK_ATTEMPTS,
      initialMs: 500,
      maxMs: 5000,
      multiplier: 2,
      jitter: 'full',
      signal: req.signal,
      onRetry: (attempt, delayMs, err) =>
        req.onLog?.(`broker check ${attempt}/${BROKER_CHECK_ATTEMPTS} failed (${err.message}); retrying in ${Math.round(delayMs)}ms`, 'warn'),
    },
  )
  await client.endAsync()
}

/**
 * aedes answers an MQTT 5 CONNECT with "unacceptable protocol version": every device would retry for the whole run
 * and the run would end "no device ever connected ... check the broker address", though the cause is known here.
 */
function embeddedSpeaksNoMqtt5(url: string): UsageError {
  return new UsageError(
    `the scenario asks for MQTT 5 (broker: {protocol: 5}), and no broker was named: the embedded broker iotd would start on ${url} (aedes) speaks MQTT 3.1.1 only and refuses MQTT 5 clients`,
    [
      'name a broker that speaks MQTT 5: --broker mqtt://127.0.0.1:1883 for a local mosquitto (or broker.url in the scenario)',
      'set broker: {protocol: "3.1.1"} if the scenario uses no MQTT 5 feature (properties, reply: true, response topics)',
    ],
  )
}

function withOverrides(scenario: Scenario, req: SimulationRequest): Scenario {
  const broker = {...scenario.broker}
  if (req.brokerUrl !== undefined) broker.url = req.brokerUrl
  if (req.username !== undefined) broker.username = req.username
  if (req.password !== undefined) broker.password = req.password
  if (req.insecure) broker.tls = {...broker.tls, insecure: true}
  for (const k of ['ca', 'cert', 'key'] as const) if (req[k] !== undefined) broker.tls = {...broker.tls, [k]: req[k]}
  if (broker.tls?.insecure) req.onLog?.(INSECURE_TLS_WARNING, 'warn')
  return {...scenario, broker}
}

function isLoopback(url: string): boolean {
  try {
    const host = parseEndpointUrl(url).host
    return host === 'localhost' || host.startsWith('127.') || host === '::1' || host === '[::1]'
  } catch {
    return false
  }
}
