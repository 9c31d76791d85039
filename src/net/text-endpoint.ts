/**
 * A small HTTP listener that serves one text document on GET (e.g. Prometheus metrics). Binds to loopback unless
 * an address says otherwise; the document is rendered per request by the caller.
 */
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {UsageError} from '../errors.js'

export interface TextEndpoint {
  /** The address actually bound (port 0 gets one from the OS), with the path. */
  url: string
  close(): Promise<void>
}

export interface TextEndpointOptions {
  /** `9464`, `:9464`, `127.0.0.1:9464`, `[::1]:9464`. */
  address: string
  /** The flag the address came from, for error messages (`--metrics`). */
  flag: string
  path: string
  contentType: string
  render: () => string
}

/** `9464`, `:9464`, `127.0.0.1:9464`, `[::1]:9464` -> host and port; loopback by default. */
export function parseListenAddress(text: string, flag: string): {host: string; port: number} {
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)?(\d+)$/.exec(text.trim())
  const port = m ? Number(m[3]) : Number.NaN
  if (!m || !(port >= 0 && port <= 65_535)) throw new UsageError(`${flag}: "${text}" is not an address (try 127.0.0.1:9464)`)
  return {host: m[1] ?? (m[2] || '127.0.0.1'), port}
}

export async function serveText(o: TextEndpointOptions): Promise<TextEndpoint> {
  const {host, port} = parseListenAddress(o.address, o.flag)
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== o.path) {
      res.writeHead(404, {'content-type': 'text/plain'}).end(`GET ${o.path}\n`)
      return
    }
    res.writeHead(200, {'content-type': o.contentType}).end(o.render())
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) => fail(new UsageError(`${o.flag} ${o.address}: ${e.code === 'EADDRINUSE' ? 'the address is in use' : e.message}`)))
    server.listen(port, host, ok)
  })
  const bound = server.address() as AddressInfo
  return {
    url: `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}${o.path}`,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  }
}
