import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import {checkConnectionCapacity, connectWithRetry, parseEndpointUrl, parseSourceAddresses, redactUrl} from '../net/index.js'
import type {ResolvedBroker} from '../net/index.js'
import {expandDevices, type Scenario} from './scenario/index.js'
import {runFleet} from './fleet/engine.js'
import type {SimSnapshot, SimSummary} from './types.js'

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
  insecure?: boolean
  durationMs?: number
  limit?: number
  workers?: number
  fleets?: string[]
  sourceIps?: string
  labelsFile?: string
  signal?: AbortSignal
  onSnapshot?: (snapshot: SimSnapshot) => void
  onLog?: (message: string, level: 'info' | 'warn' | 'error') => void
}

/** Attempts of the broker check before the fleet starts; a broker that is down ends the run with exit 1. */
const BROKER_CHECK_ATTEMPTS = 5

export async function runSimulation(req: SimulationRequest): Promise<SimSummary> {
  const scenario = withOverrides(req.scenario, req)
  const devices = expandDevices(scenario, {fleets: req.fleets})
  if (devices.length === 0) throw new UsageError(`no devices: --fleet ${req.fleets?.join(',')} names no fleet of the scenario`)
  const sourceSpec = req.sourceIps ?? scenario.broker.sourceIps
  let sourceAddresses: string[] = []
  try {
    sourceAddresses = sourceSpec === undefined ? [] : parseSourceAddresses(sourceSpec)
  } catch (error) {
    throw new UsageError((error as Error).message)
  }

  const userUrl = scenario.broker.url
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
  const resolved: ResolvedBroker =
    userUrl === undefined ? await (await import('../net/embedded-broker.js')).resolveBroker({defaultUrl: req.defaultBrokerUrl}) : {url: userUrl}
  if (resolved.note) req.onLog?.(resolved.note, 'info')
  try {
    if (!resolved.embedded) await checkBroker(scenario, resolved.url, req)
    return await runFleet({
      scenario,
      scenarioName: req.scenarioName,
      devices,
      brokerUrl: resolved.url,
      brokerLabel: redactUrl(resolved.url),
      embeddedBroker: resolved.embedded !== undefined,
      workers: req.workers,
      durationMs: req.durationMs ?? scenario.durationMs,
      messageLimit: req.limit ?? scenario.limit,
      sourceAddresses,
      labelsFile: req.labelsFile ?? scenario.labels,
      onSnapshot: req.onSnapshot,
      onLog: req.onLog,
      signal: req.signal,
    })
  } finally {
    await resolved.embedded?.close()
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

function withOverrides(scenario: Scenario, req: SimulationRequest): Scenario {
  const broker = {...scenario.broker}
  if (req.brokerUrl !== undefined) broker.url = req.brokerUrl
  if (req.username !== undefined) broker.username = req.username
  if (req.password !== undefined) broker.password = req.password
  if (req.insecure) broker.tls = {...broker.tls, insecure: true}
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
