/**
 * The Prometheus text exposition format (version 0.0.4), from plain figures: one writer for every command that
 * serves `--metrics` (sim, bench, record, replay, pipeline run).
 *
 * Naming scheme (docs/metrics.md): `iotd_<command>_<what>[_<unit>]`, counters end in `_total`, units in the name
 * (`_bytes`, `_seconds`, `_ms` for latency quantiles), label keys are the command's own nouns (fleet, rule, sink,
 * source). A counter is a running total since the command started, so `rate()` works on it; gauges are the latest
 * value.
 *
 * Hand-written rather than prom-client: the figures already exist as the run's snapshots (sim and bench workers
 * count in their own threads and post totals each second); a scrape renders the latest snapshot, so there is no
 * registry to keep in step and nothing on the hot path.
 */

export interface MetricFamily {
  name: string
  type: 'counter' | 'gauge'
  help: string
  /** Samples; a null value is left out (a figure that does not exist yet, e.g. a percentile without samples). */
  samples: Array<[labels: Record<string, string>, value: number | null]>
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = []
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`)
    for (const [labels, value] of f.samples) {
      if (value === null) continue
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',')
      out.push(`${f.name}${l ? `{${l}}` : ''} ${formatValue(value)}`)
    }
  }
  return `${out.join('\n')}\n`
}

/** A small builder so a family list reads as a table of names, help texts and values. */
export class Families {
  readonly list: MetricFamily[] = []
  constructor(private readonly common: Record<string, string> = {}) {}

  counter(name: string, help: string, samples: MetricFamily['samples'] | number | null): this {
    return this.add(name, 'counter', help, samples)
  }

  gauge(name: string, help: string, samples: MetricFamily['samples'] | number | null): this {
    return this.add(name, 'gauge', help, samples)
  }

  private add(name: string, type: MetricFamily['type'], help: string, samples: MetricFamily['samples'] | number | null): this {
    const rows = Array.isArray(samples) ? samples.map(([l, v]): [Record<string, string>, number | null] => [{...this.common, ...l}, v]) : [[{...this.common}, samples] as [Record<string, string>, number | null]]
    this.list.push({name, type, help, samples: rows})
    return this
  }

  text(): string {
    return renderPrometheus(this.list)
  }
}
