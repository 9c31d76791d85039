import {closestName} from '../../config/did-you-mean.js'
import type {ParamRef} from '../generators/device-params.js'
import {alwaysNumber, type GeneratorSpec} from '../generators/generator-schema.js'
import {registryRowSource, type RegistryRow} from './params.js'
import type {SemanticProblem} from './value-checks.js'

/** The checks of a fleet's `params:` and of the `{params.x}` references in its fields (params.ts). */

type RegistryFleet = {registry?: string; registryParams: readonly RegistryRow[]}

/**
 * A fleet whose `registry:` table was refused (that one problem is reported at its registry key): which columns it
 * has is unknown, so `{params.x}` is not checked against them, as every use of a column would repeat the problem.
 */
export function registryRefused(fleet: RegistryFleet): boolean {
  return fleet.registry !== undefined && fleet.registryParams.length === 0
}

/** Numeric references must name a param that is a number on every device. */
export function checkParamRefs(fleet: RegistryFleet & {params: Record<string, GeneratorSpec>; paramRefs: readonly ParamRef[]}, at: PropertyKey[], problems: SemanticProblem[]): void {
  const columns = Object.keys(fleet.registryParams[0] ?? {}).filter((c) => !(c in fleet.params))
  const names = [...Object.keys(fleet.params), ...columns]
  for (const ref of fleet.paramRefs) {
    const spec = fleet.params[ref.param]
    const path = [...at, 'fields', ...ref.path]
    if (!spec && columns.includes(ref.param)) {
      // A table keeps a cell's text as written ("20.50" from a spreadsheet); where a number is needed, numeric text is one.
      const bad = fleet.registryParams.findIndex((row) => !isNumeric(row?.[ref.param]))
      if (bad >= 0) {
        const value = fleet.registryParams[bad]?.[ref.param]
        const source = registryRowSource(fleet.registryParams[bad])
        const where = source ? `${source.file}:${source.line}: ` : ''
        const what = value === undefined ? `device index ${bad} has no "${ref.param}"` : `the "${ref.param}" cell of device index ${bad} is ${JSON.stringify(value)}, not a number`
        problems.push({path, message: `${where}${what}, so it cannot stand for ${String(ref.path.at(-1))}`})
      }
    } else if (!spec && registryRefused(fleet)) {
      continue
    } else if (!spec) {
      const hint = closestName(ref.param, names)
      problems.push({path, message: `unknown param "${ref.param}"${hint ? ` (did you mean "${hint}"?)` : ''} (params: ${names.length > 0 ? names.join(', ') : 'none; declare them under params:'})`})
    } else if (!alwaysNumber(spec)) {
      problems.push({path, message: `param "${ref.param}" is not a number on every device (kind ${spec.kind}), so it cannot stand for ${String(ref.path.at(-1))}`})
    }
  }
  for (const [name, spec] of Object.entries(fleet.params)) {
    if (spec.kind === 'derived' || spec.kind === 'mode' || spec.kind === 'gps') problems.push({path: [...at, 'params', name, 'kind'], message: `a param is drawn once, on its own: kind ${spec.kind} cannot be one (use constant, pick, uniform, gaussian, uuid, ...)`})
  }
}

/**
 * A param may not share a var's name: templates would render the var ({site}) while `iotd sim registry` showed the
 * param in the same column, so the table would disagree with what the devices publish.
 */
export function checkParamNames(fleet: {name: string; vars: Record<string, unknown>; params: Record<string, GeneratorSpec>}, at: PropertyKey[], problems: SemanticProblem[]): void {
  for (const name of Object.keys(fleet.params)) {
    if (Object.hasOwn(fleet.vars, name)) problems.push({path: [...at, 'params', name], message: `param "${name}" has the name of a var of fleet ${fleet.name}; rename one`})
  }
}

/**
 * Decimal number text as a spreadsheet writes it: an optional sign, digits, an optional fraction and exponent. Number()
 * also reads "0x10", "0b11" and "0o7" (16, 3, 7), which a table of readings does not mean.
 */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

/** A number, or text that is one ("20.50", "-1e3", " 20"); withDeviceParams turns it into the number. */
function isNumeric(value: string | number | boolean | undefined): boolean {
  if (typeof value === 'number') return Number.isFinite(value)
  return typeof value === 'string' && DECIMAL.test(value.trim()) && Number.isFinite(Number(value))
}
