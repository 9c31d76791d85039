/**
 * Templates over a record, for the names sinks derive from rows: MQTT topics, NATS subjects, InfluxDB measurements.
 * `alerts/${deviceId}` reads `deviceId` from the row's fields; `${a.b}` a nested field; `${topic}` the record's own
 * topic; `${key}` its key. One copy, so every sink reads a template the same way.
 */
import type {PipelineRecord} from './types.js'

/**
 * Compiles `template` into a function of the record. It returns undefined when a named field is missing, null or
 * an object, or when `valid` refuses the result (an empty topic, a wildcard in a subject), so the caller can send
 * the record to the dead letter with a reason instead of publishing somewhere unintended.
 */
export function compileRecordTemplate(template: string, valid: (text: string) => boolean = () => true): (r: PipelineRecord) => string | undefined {
  const parts: Array<string | string[]> = []
  let last = 0
  for (const m of template.matchAll(/\$\{([^{}]+)\}/g)) {
    parts.push(template.slice(last, m.index))
    parts.push(m[1].trim().split('.'))
    last = m.index + m[0].length
  }
  parts.push(template.slice(last))
  if (parts.length === 1) {
    const fixed = valid(template) ? template : undefined
    return () => fixed
  }
  // `${topic}` alone (a replay, a bridge): the record's own topic, checked without building a new string.
  if (parts.length === 3 && parts[0] === '' && parts[2] === '' && (parts[1] as string[]).join('.') === 'topic') {
    return (r) => {
      const t = r.topic ?? r.meta.topic
      return typeof t === 'string' && valid(t) ? t : undefined
    }
  }
  return (r) => {
    let out = ''
    for (const p of parts) {
      if (typeof p === 'string') {
        out += p
        continue
      }
      let v: unknown
      if (p.length === 1 && p[0] === 'topic') v = r.topic ?? r.meta.topic
      else if (p.length === 1 && p[0] === 'key') v = r.key
      else {
        v = r.fields
        for (const k of p) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined
      }
      if (v === undefined || v === null || typeof v === 'object') return undefined
      out += String(v)
    }
    return valid(out) ? out : undefined
  }
}

/** The top-level field names a template reads (`plant/${site}/${a.b}` -> site, a), for sinks that skip them as data. */
export function templateFields(template: string): string[] {
  const out: string[] = []
  for (const m of template.matchAll(/\$\{([^{}]+)\}/g)) {
    const head = m[1].trim().split('.')[0]
    if (head !== 'topic' && head !== 'key') out.push(head)
  }
  return out
}
