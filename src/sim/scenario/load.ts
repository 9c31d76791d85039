import {readFileSync} from 'node:fs'
import {dirname, isAbsolute, resolve} from 'node:path'
import {ConfigError, type ConfigProblem} from '../../errors.js'
import {formatPath, loadYamlConfig} from '../../config/yaml-loader.js'
import {expandDevices} from './expand.js'
import {scenarioSchema, type Scenario} from './schema.js'
import {checkScenario, type SemanticProblem} from './semantic-checks.js'

export interface LoadScenarioOptions {
  /** Scenario text to use instead of reading `file` (file still names it in messages and anchors relative paths). */
  text?: string
  /** Environment for `${env:NAME}` interpolation (default process.env). */
  env?: NodeJS.ProcessEnv
}

/** Above this many devices the load-time uniqueness check of ids is skipped (it would cost seconds). */
const UNIQUENESS_CHECK_LIMIT = 1_000_000

/**
 * Loads, validates and normalises a scenario file. Throws ConfigError listing every problem with
 * file:line:col. The returned scenario always has a seed (the schema picks a random one when the file has none).
 */
export function loadScenario(file: string, options: LoadScenarioOptions = {}): Scenario {
  let text = options.text
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      throw new ConfigError([{file, message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(error)})`}])
    }
  }
  const {value, locate} = loadYamlConfig(file, scenarioSchema, {text, env: options.env})
  const lines = text.split(/\r?\n/)
  const toProblem = (p: SemanticProblem): ConfigProblem => {
    const at = locate(p.path) ?? {line: 1, col: 1}
    let col = at.col
    if (p.columnInValue !== undefined) {
      const opening = lines[at.line - 1]?.[at.col - 1]
      // Point inside the string when it sits on one line: past the opening quote, at the offending character.
      if (opening !== '|' && opening !== '>') col += p.columnInValue - 1 + (opening === '"' || opening === "'" ? 1 : 0)
    }
    return {file, line: at.line, col, path: formatPath(p.path), message: `${formatPath(p.path)}: ${p.message}`}
  }
  const semantic = checkScenario(value)
  if (semantic.length === 0) semantic.push(...checkIdsUnique(value))
  if (semantic.length > 0) {
    const problems = semantic.map(toProblem).sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0))
    throw new ConfigError(problems)
  }
  return {...value, broker: resolveTlsPaths(value.broker, file)}
}

/** The seed every stream derives from: the file's `seed`, or the random one chosen once when it was parsed. */
export function effectiveSeed(scenario: Scenario): number {
  return scenario.seed
}

function resolveTlsPaths(broker: Scenario['broker'], file: string): Scenario['broker'] {
  if (!('tls' in broker) || !broker.tls) return broker
  const base = dirname(resolve(file))
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(base, p))
  return {...broker, tls: {...broker.tls, ca: abs(broker.tls.ca), cert: abs(broker.tls.cert), key: abs(broker.tls.key)}}
}

/** Device ids and client ids must be unique across the whole scenario (templates can collide across fleets). */
function checkIdsUnique(scenario: Scenario): SemanticProblem[] {
  const total = scenario.fleets.reduce((n, f) => n + f.count, 0)
  if (total > UNIQUENESS_CHECK_LIMIT) return []
  const problems: SemanticProblem[] = []
  const fleetIndex = new Map(scenario.fleets.map((f, i) => [f.name, i]))
  const ids = new Map<string, string>()
  const clientIds = new Map<string, string>()
  const reported = new Set<string>()
  for (const d of expandDevices(scenario)) {
    const i = fleetIndex.get(d.fleet) ?? 0
    const otherId = ids.get(d.deviceId)
    if (otherId !== undefined && !reported.has(`id:${d.fleet}`)) {
      reported.add(`id:${d.fleet}`)
      problems.push({path: ['fleets', i, 'id'], message: `device id "${d.deviceId}" is produced twice (fleets ${otherId} and ${d.fleet}); make the id templates differ`})
    }
    ids.set(d.deviceId, d.fleet)
    const otherClient = clientIds.get(d.clientId)
    if (otherClient !== undefined && !reported.has(`client:${d.fleet}`)) {
      reported.add(`client:${d.fleet}`)
      const path = scenario.fleets[i].clientId !== undefined ? ['fleets', i, 'clientId'] : ['broker', 'clientId']
      problems.push({path, message: `client id "${d.clientId}" is produced twice (fleets ${otherClient} and ${d.fleet})`})
    }
    clientIds.set(d.clientId, d.fleet)
  }
  return problems
}
