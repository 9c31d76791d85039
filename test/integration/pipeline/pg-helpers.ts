/** The real PostgreSQL of the test machine (127.0.0.1:5432, db `test`, trust auth) and a TCP proxy that can cut it. */
import net from 'node:net'
import pg from 'pg'

export const PG_URL = process.env.IOTD_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test'

export async function pgAvailable(): Promise<boolean> {
  const c = new pg.Client({connectionString: PG_URL, connectionTimeoutMillis: 2000})
  try {
    await c.connect()
    await c.end()
    return true
  } catch {
    return false
  }
}

export async function pgQuery<T extends Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({connectionString: PG_URL})
  await c.connect()
  try {
    return (await c.query(sql, values)).rows as T[]
  } finally {
    await c.end()
  }
}

export function uniqueTable(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`
}

/** A TCP proxy to PostgreSQL on an OS-assigned port; `cut(ms)` kills every connection and refuses new ones for ms. */
export async function startPgProxy(): Promise<{url: string; cut: (ms: number) => void; close: () => Promise<void>}> {
  const target = new URL(PG_URL)
  const sockets = new Set<net.Socket>()
  let refuseUntil = 0
  const server = net.createServer((client) => {
    if (Date.now() < refuseUntil) {
      client.destroy()
      return
    }
    const upstream = net.connect(Number(target.port || 5432), target.hostname)
    sockets.add(client)
    sockets.add(upstream)
    client.pipe(upstream).pipe(client)
    const done = () => {
      client.destroy()
      upstream.destroy()
      sockets.delete(client)
      sockets.delete(upstream)
    }
    client.on('error', done).on('close', done)
    upstream.on('error', done).on('close', done)
  })
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
  const port = (server.address() as net.AddressInfo).port
  const url = new URL(PG_URL)
  url.port = String(port)
  return {
    url: url.toString(),
    cut(ms) {
      refuseUntil = Date.now() + ms
      for (const s of sockets) s.destroy()
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy()
        server.close(() => ok())
      }),
  }
}
