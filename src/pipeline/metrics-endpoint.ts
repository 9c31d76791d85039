/**
 * `--metrics 127.0.0.1:9464`: serves GET /metrics in the Prometheus text format while a pipeline runs (the
 * listener is net/text-endpoint.ts). The numbers are at most one progress interval (1 s) old.
 */
import {parseListenAddress as parseAddress, serveText} from '../net/text-endpoint.js'
import {prometheusText} from './metrics-text.js'
import type {PipelineSummary} from './runtime/run-pipeline.js'

export interface MetricsEndpoint {
  /** The address actually bound (port 0 gets one from the OS). */
  url: string
  update(summary: PipelineSummary): void
  close(): Promise<void>
}

/** `9464`, `:9464`, `127.0.0.1:9464`, `[::1]:9464` -> host and port; loopback by default. */
export function parseListenAddress(text: string): {host: string; port: number} {
  return parseAddress(text, '--metrics')
}

export async function startMetricsEndpoint(address: string): Promise<MetricsEndpoint> {
  let latest: PipelineSummary | undefined
  const endpoint = await serveText({address, flag: '--metrics', path: '/metrics', contentType: 'text/plain; version=0.0.4', render: () => (latest ? prometheusText(latest) : '')})
  return {
    url: endpoint.url,
    update(s) {
      latest = s
    },
    close: () => endpoint.close(),
  }
}
