/**
 * Prometheus text checked by the reference parser (Python's prometheus_client, Debian's python3-prometheus-client),
 * not by our own code: `parsePrometheus` returns every sample by name, or throws with the parser's complaint.
 */
import {spawnSync} from 'node:child_process'

export interface Sample {
  labels: Record<string, string>
  value: number
}

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = {}
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.setdefault(s.name, []).append({"labels": s.labels, "value": s.value, "type": family.type})
print(json.dumps(out))
`

export function prometheusParserAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import prometheus_client.parser'], {stdio: 'ignore'}).status === 0
}

export function parsePrometheus(text: string): Record<string, Sample[]> {
  const r = spawnSync('/usr/bin/python3', ['-c', SCRIPT], {input: text, encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`prometheus_client rejected the text: ${r.stderr.trim().split('\n').at(-1)}`)
  return JSON.parse(r.stdout) as Record<string, Sample[]>
}

/** The sum of a metric's samples (over labels), or undefined when it is absent. */
export function total(parsed: Record<string, Sample[]>, name: string): number | undefined {
  const s = parsed[name]
  return s ? s.reduce((a, x) => a + x.value, 0) : undefined
}
