/**
 * A private nats-server with JetStream per suite: its own store dir, 127.0.0.1 on an OS-assigned port, stopped by
 * PID. `consumerInfo` and `streamMessages` read the server's view for assertions.
 */
import {connect as connectTcp} from 'node:net'
import type {JetStreamManager} from '@nats-io/jetstream'
import {findBinary, startServerProcess, type ServerProcess} from './server-process.js'

export interface NatsServer extends ServerProcess {
  url: string
}

export function natsServerBinary(): string | null {
  return findBinary('nats-server', ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'])
}

/** Resolves true once the server greets a TCP client with its INFO line. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTcp({host: '127.0.0.1', port})
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('data', (d) => done(d.toString().startsWith('INFO')))
    socket.once('error', () => done(false))
  })
}

export async function startNatsServer(): Promise<NatsServer> {
  const binary = natsServerBinary()
  if (!binary) throw new Error('nats-server is not installed (apt-get install nats-server)')
  const server = await startServerProcess({
    binary,
    prefix: 'iotd-nats-',
    portCount: 1,
    args: (dir, [port]) => ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', `${dir}/store`, '-l', `${dir}/server.log`],
    ready: ([port]) => greets(port),
  })
  return Object.assign(server, {url: `nats://127.0.0.1:${server.ports[0]}`})
}

/** Every message of a stream, in order: sequence, subject, JSON payload. */
export async function streamMessages(jsm: JetStreamManager, stream: string): Promise<{seq: number; subject: string; data: Record<string, unknown>}[]> {
  const info = await jsm.streams.info(stream)
  const out: {seq: number; subject: string; data: Record<string, unknown>}[] = []
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, {seq}).catch(() => null)
    if (m) out.push({seq: m.seq, subject: m.subject, data: m.json<Record<string, unknown>>()})
  }
  return out
}
