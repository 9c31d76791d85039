import {boundedDistance} from '../../config/did-you-mean.js'
import {isJsonPath} from '../commands/json-path.js'
import {modeNames} from '../generators/mode-machine.js'
import type {FleetConfig} from './schema.js'
import {suggest, type SemanticProblem} from './value-checks.js'

/**
 * A fleet's modes. The `mode:` block declares them: `initial`, the keys and targets of `transitions`, the modes of
 * `schedule` entries, and `modes:` (those only a command or a behaviour module enters). Everything else that names a
 * mode refers to one of them: a field's `byMode`, a counter's `modes`, a command's `mode:`. A reference to a mode
 * that is not declared is refused, with a did-you-mean and how to declare it. A declared mode that is named only
 * once in the whole fleet while another mode's name is a slip away from it (`comfrt` beside `comfort`) is refused
 * too: it would silently be a mode of its own, in which no byMode or counter applies. Listing it in `modes:` says
 * it is meant.
 */

interface Mention {
  path: PropertyKey[]
  locateAt?: PropertyKey[]
}

/** Checks the mode: block and returns the fleet's modes (empty without one), for the checks of their references. */
export function checkModes(fleet: FleetConfig, at: PropertyKey[], problems: SemanticProblem[]): Set<string> {
  if (!fleet.mode) return new Set()
  const modes = new Set(modeNames(fleet.mode))
  const transitions = fleet.mode.transitions ?? {}
  for (const [from, targets] of Object.entries(transitions)) {
    let sum = 0
    for (const [to, p] of Object.entries(targets)) {
      sum += p
      if (!modes.has(to)) problems.push({path: [...at, 'mode', 'transitions', from, to], message: `transition to unknown mode "${to}"${suggest(to, [...modes])} (modes: ${[...modes].join(', ')}; add "${to}: {}" to declare it)`})
    }
    if (sum > 1 + 1e-9) problems.push({path: [...at, 'mode', 'transitions', from], message: `transition probabilities from "${from}" sum to ${+sum.toFixed(6)}, more than 1`})
  }
  const listed = fleet.mode.modes ?? []
  listed.forEach((mode, k) => {
    const first = listed.indexOf(mode)
    if (first !== k) problems.push({path: [...at, 'mode', 'modes', k], message: `mode "${mode}" is listed twice (entries ${first + 1} and ${k + 1})`})
  })
  checkNearDuplicates(fleet, at, modes, problems)
  return modes
}

/**
 * `unknown mode "boost" (modes: eco, comfort; ...)` with a did-you-mean when one is close, and how to declare a mode
 * that only commands or a behaviour module enter.
 */
export function unknownMode(mode: string, modes: ReadonlySet<string>): string {
  return `unknown mode "${mode}"${suggest(mode, [...modes])} (modes: ${[...modes].join(', ')}; a mode that no schedule or transition enters is declared in the fleet's mode: {modes: [${mode}]})`
}

/** Where the fleet names each mode: the mode: block, the fields, the commands. */
function mentions(fleet: FleetConfig, at: PropertyKey[]): Map<string, Mention[]> {
  const out = new Map<string, Mention[]>()
  const add = (mode: string, mention: Mention) => out.set(mode, [...(out.get(mode) ?? []), mention])
  const block = fleet.mode!
  add(block.initial, {path: [...at, 'mode', 'initial']})
  for (const [from, targets] of Object.entries(block.transitions ?? {})) {
    add(from, {path: [...at, 'mode', 'transitions', from]})
    for (const to of Object.keys(targets)) add(to, {path: [...at, 'mode', 'transitions', from, to]})
  }
  block.schedule?.forEach((entry, k) => add(entry.mode, {path: [...at, 'mode', 'schedule', k, 'mode']}))
  block.modes?.forEach((mode, k) => add(mode, {path: [...at, 'mode', 'modes', k]}))
  for (const [name, spec] of Object.entries(fleet.fields)) {
    if ('byMode' in spec && spec.byMode) for (const mode of Object.keys(spec.byMode)) add(mode, {path: [...at, 'fields', name, 'byMode', mode]})
    if (spec.kind === 'counter') spec.modes?.forEach((mode, k) => add(mode, {path: [...at, 'fields', name, 'modes', k]}))
  }
  fleet.commands?.forEach((rule, k) => {
    if (rule.mode !== undefined && !isJsonPath(rule.mode)) add(rule.mode, {path: [...at, 'commands', k, 'mode'], locateAt: [...at, 'commands', k, 'mode', 'to']})
  })
  return out
}

/** Two names a slip apart, as did-you-mean hints count it: one edit for names of up to four letters, else two. */
function close(a: string, b: string): boolean {
  const limit = Math.min(a.length, b.length) <= 4 ? 2 : 3
  return boundedDistance(a.toLowerCase(), b.toLowerCase(), limit) < limit
}

function checkNearDuplicates(fleet: FleetConfig, at: PropertyKey[], modes: ReadonlySet<string>, problems: SemanticProblem[]): void {
  const named = mentions(fleet, at)
  const listed = new Set(fleet.mode!.modes ?? [])
  for (const mode of modes) {
    const where = named.get(mode) ?? []
    if (listed.has(mode) || where.length !== 1) continue
    // The closest by how often it is named: the mode the slip was most likely meant to be.
    const others = [...modes].filter((m) => m !== mode && close(mode, m)).sort((a, b) => (named.get(b)?.length ?? 0) - (named.get(a)?.length ?? 0))
    if (others.length === 0) continue
    const meant = others[0]
    const times = named.get(meant)?.length ?? 0
    problems.push({
      ...where[0],
      message: `mode "${mode}" is named only here and is a slip from mode "${meant}" (named ${times === 1 ? 'once' : `${times} times`}): did you mean ${meant}? (if ${mode} is a mode of its own, declare it in the fleet's mode: {modes: [${mode}]})`,
    })
  }
}
