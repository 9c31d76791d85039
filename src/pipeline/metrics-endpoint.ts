/**
 * `--metrics 127.0.0.1:9464`: serves GET /metrics in the Prometheus text format while a pipeline runs. Binds to
 * loopback unless an address is given; the numbers are at most one progress interval (1 s) old.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {UsageError} from '../errors.js'
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
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(text.trim())
  const port = m ? Number(m[3]) : Number.NaN
  if (!m || !(port >= 0 && port <= 65_535)) throw new UsageError(`--metrics: "${text}" is not an address (try 127.0.0.1:9464)`)
  return {host: m[1] ?? (m[2] || '127.0.0.1'), port}
}

export async function startMetricsEndpoint(address: string): Promise<MetricsEndpoint> {
  const {host, port} = parseListenAddress(address)
  let latest: PipelineSummary | undefined
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, {'content-type': 'text/plain'}).end('GET /metrics\n')
      return
    }
    res.writeHead(200, {'content-type': 'text/plain; version=0.0.4'}).end(latest ? prometheusText(latest) : '')
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(new UsageError(`--metrics ${address}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.message}`)))
    server.listen(port, host, ok)
  })
  const bound = server.address() as AddressInfo
  return {
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}/metrics`,
    update(s) {
      latest = s
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  }
}
