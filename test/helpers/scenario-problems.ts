import type {ConfigError} from '../../src/errors.js'
import {loadScenario} from '../../src/sim/scenario/index.js'

/** The problems loading a scenario text reports, each as `line:col message` (none: it loads), with no environment. */
export function scenarioProblems(text: string): string[] {
  try {
    loadScenario('m.yaml', {text, env: {}})
  } catch (error) {
    return (error as ConfigError).problems.map((p) => `${p.line}:${p.col} ${p.message}`)
  }
  return []
}
