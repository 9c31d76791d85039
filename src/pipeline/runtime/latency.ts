/**
 * A bounded reservoir of latencies (ms) for the summary's p50/p99: the last 8192 samples, kept in a typed array so
 * recording allocates nothing. Good enough for a run summary; benchmarks use HDR histograms (metrics/histogram.ts).
 */
export class LatencySample {
  private readonly values = new Float64Array(8192)
  private n = 0

  record(ms: number): void {
    this.values[this.n++ & 8191] = ms
  }

  quantile(q: number): number | null {
    const count = Math.min(this.n, 8192)
    if (count === 0) return null
    const sorted = this.values.slice(0, count).sort()
    return sorted[Math.min(count - 1, Math.floor(q * count))]
  }
}
