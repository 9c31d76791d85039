/**
 * A private influxd (InfluxDB 1.x, Debian's `influxdb`) per suite: its own meta/data/wal dirs, HTTP and RPC bound to
 * 127.0.0.1 on OS-assigned ports, no reporting, monitor or continuous queries. Queries go through its /query API.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {findBinary, startServerProcess, type ServerProcess} from './server-process.js'

export interface Influxd extends ServerProcess {
  url: string
  /** Runs InfluxQL and returns the first statement's series values (throws on an error in the answer). */
  query(db: string, q: string): Promise<unknown[][]>
  /** `SELECT count(field) FROM measurement` as a number (0 when the measurement does not exist). */
  count(db: string, measurement: string, field: string): Promise<number>
}

export function influxdBinary(): string | null {
  return findBinary('influxd', ['/usr/bin/influxd', '/usr/local/bin/influxd'])
}

export async function startInfluxd(): Promise<Influxd> {
  const binary = influxdBinary()
  if (!binary) throw new Error('influxd is not installed (apt-get install influxdb)')
  const server = await startServerProcess({
    binary,
    prefix: 'iotd-influxd-',
    portCount: 2,
    args(dir, [http, rpc]) {
      const conf = `reporting-enabled = false
bind-address = "127.0.0.1:${rpc}"
[meta]
  dir = "${dir}/meta"
[data]
  dir = "${dir}/data"
  wal-dir = "${dir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:${http}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[subscriber]
  enabled = false
[ifql]
  enabled = false
`
      writeFileSync(join(dir, 'influxdb.conf'), conf)
      return ['-config', join(dir, 'influxdb.conf')]
    },
    async ready([http]) {
      const res = await fetch(`http://127.0.0.1:${http}/ping`, {signal: AbortSignal.timeout(1000)})
      return res.status === 204
    },
  })
  const url = `http://127.0.0.1:${server.ports[0]}`
  const query = async (db: string, q: string): Promise<unknown[][]> => {
    const res = await fetch(`${url}/query?${new URLSearchParams({db, q})}`, {method: 'POST'})
    const body = (await res.json()) as {error?: string; results?: {error?: string; series?: {values: unknown[][]}[]}[]}
    const err = body.error ?? body.results?.[0]?.error
    if (err) throw new Error(`influxd: ${q}: ${err}`)
    return body.results?.[0]?.series?.[0]?.values ?? []
  }
  return Object.assign(server, {
    url,
    query,
    async count(db: string, measurement: string, field: string) {
      const rows = await query(db, `SELECT count("${field}") FROM "${measurement}"`)
      return rows.length ? Number(rows[0][1]) : 0
    },
  })
}
