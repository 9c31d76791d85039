/**
 * The window kinds the rule language knows, one line each. A kind is one file (see window-kind.ts): adding one is
 * that file and a line here; the grammar, planner, rule runner and explain read this list.
 */
import {countWindow} from './count-window.js'
import {hoppingWindow} from './hopping-window.js'
import {sessionWindow} from './session-window.js'
import {slidingWindow} from './sliding-window.js'
import {tumblingWindow} from './tumbling-window.js'
import type {AggregatorFactory, WindowOperator, WindowOperatorOptions} from './types.js'
import type {WindowKindSpec} from './window-kind.js'

export const WINDOW_KINDS = [tumblingWindow, hoppingWindow, slidingWindow, sessionWindow, countWindow] as const

type Kinds = (typeof WINDOW_KINDS)[number]
type ParamsOf<K> = K extends WindowKindSpec<string, infer P> ? P : never

/** A window as the operators take it: the kind and its parameters (durations in ms), e.g. {kind: 'hopping', sizeMs, hopMs}. */
export type WindowSpec = {[K in Kinds as K['kind']]: {kind: K['kind']} & ParamsOf<K>}[Kinds['kind']]
export type WindowKind = WindowSpec['kind']

const BY_KIND = new Map<string, WindowKindSpec>(WINDOW_KINDS.map((k) => [k.kind, k as unknown as WindowKindSpec]))

/** The kind of a window call or plan; undefined for a name that is not one. */
export function windowKind(kind: string): WindowKindSpec | undefined {
  return BY_KIND.get(kind.toLowerCase())
}

/** The SQL call names, lowercase (`tumblingwindow`, …): the grammar accepts these in GROUP BY. */
export const WINDOW_CALLS: ReadonlySet<string> = new Set(WINDOW_KINDS.map((k) => `${k.kind}window`))

/** One operator for one rule's window, built by its kind. */
export function createWindowOperator<R, A, S>(spec: WindowSpec, aggregator: AggregatorFactory<R, A, S>, options: WindowOperatorOptions<R> = {}): WindowOperator<R, A> {
  const kind = windowKind(spec.kind)
  if (!kind) throw new Error(`no window kind "${spec.kind}"`)
  return kind.operator(spec, aggregator, options)
}
