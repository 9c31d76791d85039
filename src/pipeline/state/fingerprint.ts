/**
 * What a checkpoint may be restored into: per rule a hash of everything that shapes its state (SQL, window and
 * event-time settings, reject condition), and one for the sources (names, kinds, event-time and key fields). A
 * restart compares them with the saved ones and refuses a changed pipeline instead of mixing two rules' state.
 */
import {createHash} from 'node:crypto'
import type {LoadedPipeline} from '../config/load.js'

const hash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16)

export function fingerprintPipeline(
  pipeline: LoadedPipeline,
  sources: readonly {name: string; type: string; timestampField?: string; timestampFormat?: string; keyField?: string}[],
): Record<string, string> {
  const out: Record<string, string> = {}
  for (const r of pipeline.rules) {
    const c = r.config
    out[r.name] = hash({sql: c.sql.trim(), reject: c.reject, lateTolerance: c.lateTolerance, offset: c.offset, maxFutureSkew: c.maxFutureSkew})
  }
  // The format joins the field only when given, so the fingerprints of files written before it stay the same.
  out.sources = hash(sources.map((s) => [s.name, s.type, s.timestampFormat ? `${s.timestampField} (${s.timestampFormat})` : (s.timestampField ?? null), s.keyField ?? null]).sort())
  return out
}
