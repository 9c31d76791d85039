import {selectedDevices} from '../generators/anomalies.js'
import {groupSize} from './modbus-expand.js'
import type {Scenario} from './schema.js'
import type {SemanticProblem} from './value-checks.js'

/**
 * Anomalies and faults whose `share:` (a chance per device, drawn by seed) selected no device of their fleet or
 * group: they never fire, and a data set that should hold them holds none. Not an error, as another seed may draw
 * some, but said at the `share` key by lint and before a run, with an exact `devices:` to write instead. (A
 * `devices:` share that rounds to no device is refused by value-checks.ts; this is the chance that drew none.)
 */
export function emptySelectionWarnings(scenario: Scenario): SemanticProblem[] {
  const out: SemanticProblem[] = []
  const seed = scenario.seedDrawn ? `seed ${scenario.seed} (drawn for this load: the scenario sets no seed, so another run may draw some)` : `seed ${scenario.seed}`
  const check = (what: string, share: number | undefined, group: string, size: number, selected: number, path: PropertyKey[]) => {
    if (share === undefined || selected > 0 || size === 0) return
    const expected = +(share * size).toFixed(2)
    const exact = Math.max(1, Math.round(share * size))
    out.push({
      path,
      message: `${what} selects none of ${group}'s ${size} device${size === 1 ? '' : 's'} with ${seed}: share: ${+(share * 100).toFixed(4)}% is a chance per device, and none was drawn (${expected} expected); write devices: ${exact} to select exactly ${exact === 1 ? 'one' : exact}`,
    })
  }
  scenario.fleets.forEach((f, i) =>
    f.anomalies.forEach((a, k) => {
      if (a.share === undefined) return
      check(anomalyText(a), a.share, f.name, f.count, selectedDevices(scenario.seed, f.name, f.count, k, a), ['fleets', i, 'anomalies', k, 'share'])
    }),
  )
  scenario.modbus.forEach((g, i) => {
    const size = groupSize(g)
    g.anomalies.forEach((a, k) => {
      if (a.share === undefined) return
      check(anomalyText(a), a.share, g.name, size, selectedDevices(scenario.seed, g.name, size, k, a), ['modbus', i, 'anomalies', k, 'share'])
    })
    // Faults draw with their own numbers (1000 + k), as the Modbus devices do.
    g.faults.forEach((x, k) => check(`fault ${x.kind}`, x.share, g.name, size, selectedDevices(scenario.seed, g.name, size, 1000 + k, x), ['modbus', i, 'faults', k, 'share']))
  })
  return out
}

/** `anomaly noise on roomTemp`, `anomaly overheat (spike on temperature)`: as lint lists them. */
function anomalyText(a: {name?: string; kind: string; field?: string}): string {
  const what = `${a.kind}${a.field ? ` on ${a.field}` : ''}`
  return a.name ? `anomaly ${a.name} (${what})` : `anomaly ${what}`
}
