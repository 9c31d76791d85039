/**
 * The normative order of rows that fire on the same watermark advance (tumbling, hopping, session):
 * window_end, then window_start, then key. Keys compare by UTF-16 code units, so the order does not depend on
 * the machine's locale.
 */
import type {WindowOutput} from './types.js'

export function compareWindowOutputs<A>(a: WindowOutput<A>, b: WindowOutput<A>): number {
  if (a.windowEnd !== b.windowEnd) return a.windowEnd < b.windowEnd ? -1 : 1
  if (a.windowStart !== b.windowStart) return a.windowStart < b.windowStart ? -1 : 1
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}
