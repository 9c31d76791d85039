import {ExpressionError, parseExpression} from '../generators/expression.js'
import {EXPRESSION_BUILTINS, rootOf} from '../generators/field-order.js'
import {OBJECT_FIELD_KEYS} from '../generators/registry.js'
import {devicesWanted} from '../generators/anomalies.js'
import type {FleetConfig} from './schema.js'
import {parseTemplate} from '../../config/template.js'
import {findFilterFault, findTopicFault} from '../../net/topic-rules.js'
import {closestName} from '../../config/did-you-mean.js'

/**
 * The checks of one expression or one template, shared by the fleet checks (semantic-checks.ts) and the modbus
 * group checks (modbus-checks.ts), so neither of those imports the other.
 */

export interface SemanticProblem {
  path: PropertyKey[]
  message: string
  /** 1-based column inside the string value (template or expression) where the problem is, if known. */
  columnInValue?: number
  /**
   * Where to point, when not at `path`: a value that may be written alone or inside a map (mode: eco or
   * mode: {to: eco}) is found at `[...path, 'to']`, which lands on the value in both forms.
   */
  locateAt?: PropertyKey[]
  /** Point at the last key of the path itself (a map key that is wrong), not at its value. */
  atKey?: boolean
}

export function checkExpression(expr: string, fleet: Pick<FleetConfig, 'fields'>, name: string, at: PropertyKey[], problems: SemanticProblem[]): string[] {
  let refs
  try {
    refs = parseExpression(expr).refs
  } catch (error) {
    if (!(error instanceof ExpressionError)) throw error
    problems.push({path: at, columnInValue: error.column, message: `expression error at column ${error.column} of "${expr}": ${error.message}`})
    return []
  }
  const deps: string[] = []
  for (const ref of refs) {
    const root = rootOf(ref.path)
    if (root.startsWith('$')) {
      if (!(root in EXPRESSION_BUILTINS)) problems.push({path: at, columnInValue: ref.column, message: `unknown built-in "${root}" in expression of ${name} (known: ${Object.keys(EXPRESSION_BUILTINS).join(', ')})`})
      continue
    }
    const spec = fleet.fields[root]
    if (!spec) {
      problems.push({path: at, columnInValue: ref.column, message: `expression of ${name} references unknown field "${root}" (fields: ${Object.keys(fleet.fields).join(', ')})`})
      continue
    }
    const sub = ref.path.slice(root.length + 1)
    const keys = OBJECT_FIELD_KEYS[spec.kind]
    if (sub && !(keys && keys.includes(sub))) {
      problems.push({path: at, columnInValue: ref.column, message: `"${ref.path}" is not a value: ${root} ${keys ? `has ${keys.join(', ')}` : 'has no sub-fields'}`})
    } else if (!sub && keys) {
      problems.push({path: at, columnInValue: ref.column, message: `${root} is an object; use one of ${keys.map((k) => `${root}.${k}`).join(', ')}`})
    }
    deps.push(root)
  }
  return [...new Set(deps)]
}

export function checkTopicTemplate(source: string, at: PropertyKey[], problems: SemanticProblem[]): void {
  const fault = findTopicFault(source)
  if (!fault) return
  if (source === '') problems.push({path: at, message: `topic ${fault.what}: ${fault.why}`})
  else problems.push({path: at, columnInValue: fault.column, message: `topic "${source}" ${fault.what} at column ${fault.column}: ${fault.why}`})
}

/** A subscription's topic filter template: placeholders stand for text without wildcards, so the template shows the faults. */
export function checkFilterTemplate(source: string, at: PropertyKey[], problems: SemanticProblem[]): void {
  const fault = findFilterFault(source)
  if (!fault) return
  if (source === '') problems.push({path: at, message: `topic filter ${fault.what}: ${fault.why}`})
  else problems.push({path: at, columnInValue: fault.column, message: `topic filter "${source}" ${fault.what} at column ${fault.column}: ${fault.why}`})
}

/** ` (did you mean "x"?)` when a known name is close to `name`; `show` writes the name as the message does. */
export function suggest(name: string, known: readonly string[], show: (name: string) => string = (n) => `"${n}"`): string {
  const close = closestName(name, known)
  return close === undefined ? '' : ` (did you mean ${show(close)}?)`
}

/** A known name ending in `.<key>` stands for its prefix and any key after it: `request.<key>` knows {request.id}. */
const ANY_KEY = '<key>'

export function isKnownName(name: string, known: readonly string[]): boolean {
  return known.some((k) => k === name || (k.endsWith(`.${ANY_KEY}`) && name.length > k.length - ANY_KEY.length && name.startsWith(k.slice(0, -ANY_KEY.length))))
}

/** A known name as `name` would be if it were meant: `request.<key>` is `request.id` for `reqest.id`. */
export function spelledAs(known: string, name: string): string {
  const dot = name.indexOf('.')
  return known.endsWith(`.${ANY_KEY}`) && dot >= 0 ? `${known.slice(0, -ANY_KEY.length)}${name.slice(dot + 1)}` : known
}

/** Returns false when the template names something unknown (a problem was added). */
export function checkTemplateNames(
  source: string,
  known: readonly string[],
  at: PropertyKey[],
  problems: SemanticProblem[],
  mode: 'strict' | 'lenient' = 'strict',
): boolean {
  let ok = true
  for (const part of parseTemplate(source, mode).parts) {
    if (typeof part === 'string' || isKnownName(part.name, known)) continue
    ok = false
    problems.push({
      path: at,
      columnInValue: part.column,
      message: `unknown placeholder {${part.name}} in "${source}"${suggest(part.name, known.map((k) => spelledAs(k, part.name)), (n) => `{${n}}`)} (known: ${known.map((k) => `{${k}}`).join(' ')})`,
    })
  }
  return ok
}

/**
 * `devices:` of anomalies or faults against the size of their fleet or group: a number above it would quietly
 * select all of them, and a share that rounds to no device (2% of 20) would quietly select none, while
 * `devices: 0` is refused. (A share is at most 100%, so only numbers can overshoot.)
 */
export function checkDeviceCounts(list: ReadonlyArray<{devices?: number | {share: number}}>, size: number, group: string, at: PropertyKey[], problems: SemanticProblem[]): void {
  const devices = `${size} device${size === 1 ? '' : 's'}`
  list.forEach((entry, k) => {
    if (typeof entry.devices === 'number' && entry.devices > size) {
      problems.push({path: [...at, k, 'devices'], message: `${entry.devices} is more than ${group}'s ${devices}`})
    } else if (typeof entry.devices === 'object' && devicesWanted(entry.devices, size) === 0) {
      // A share selects round(share × size) devices, so one device needs share × size >= 0.5.
      const smallest = Math.ceil((50 / size) * 100) / 100
      problems.push({
        path: [...at, k, 'devices'],
        message: `${percent(entry.devices.share)} of ${group}'s ${devices} selects no device (${+(entry.devices.share * size).toFixed(4)} rounds to 0); the smallest share that selects one is ${smallest}%, or write devices: 1`,
      })
    }
  })
}

function percent(share: number): string {
  return `${+(share * 100).toFixed(4)}%`
}
