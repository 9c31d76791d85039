import {createServer} from 'node:net'

/** Asks the OS for a free TCP port on `host` (bind port 0, read it back, close). Another process may still take it. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, host, () => {
      const {port} = server.address() as {port: number}
      server.close(() => resolve(port))
    })
  })
}
