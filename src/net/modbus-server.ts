import {createServer, type Server, type Socket} from 'node:net'
import {encodeFrame, FrameReader} from '../modbus/mbap.js'

/**
 * A Modbus TCP listener. It frames requests (MBAP) and hands each one to `onRequest`, which answers with a
 * response PDU, `null` for no answer at all (an absent unit, an injected "no response" fault), or a promise of
 * either (injected latency). Requests on one connection may be answered out of order, as Modbus TCP allows:
 * the transaction id pairs them.
 *
 * Why not modbus-serial's ServerTCP: it cannot leave a unit unanswered or drop a connection per unit, answers
 * quantities above the protocol limits with exception 4 instead of 3, and computes an RTU CRC for every TCP frame.
 * The client side of the tests uses independent implementations (modbus-serial, pymodbus, mbpoll) against this one.
 */

export interface ModbusRequestContext {
  unitId: number
  pdu: Buffer
  /** The connection, so a fault can drop it. */
  socket: Socket
}

export type ModbusAnswer = Buffer | null

export interface ModbusServerOptions {
  host?: string
  /** 0 lets the OS choose; read the bound port from the result. */
  port: number
  onRequest(ctx: ModbusRequestContext): ModbusAnswer | Promise<ModbusAnswer>
  /** Called with a connection that sent bytes no Modbus client sends (it is closed). */
  onProtocolError?(error: Error, socket: Socket): void
}

export interface ModbusServer {
  readonly host: string
  readonly port: number
  /** Open client connections. */
  readonly connections: ReadonlySet<Socket>
  /** Destroys every open connection (a dropped-connection fault); the listener keeps accepting. */
  dropConnections(): number
  close(): Promise<void>
}

export function startModbusServer(options: ModbusServerOptions): Promise<ModbusServer> {
  const host = options.host ?? '127.0.0.1'
  const connections = new Set<Socket>()
  const server: Server = createServer({noDelay: true}, (socket) => {
    connections.add(socket)
    const reader = new FrameReader()
    socket.on('close', () => connections.delete(socket))
    // A client that resets is normal in a simulator under fault injection; nothing to report.
    socket.on('error', () => socket.destroy())
    socket.on('data', (chunk: Buffer) => {
      let frames
      try {
        frames = reader.push(chunk)
      } catch (error) {
        options.onProtocolError?.(error as Error, socket)
        socket.destroy()
        return
      }
      for (const frame of frames) {
        const send = (answer: ModbusAnswer) => {
          if (answer && !socket.destroyed) socket.write(encodeFrame(frame.transactionId, frame.unitId, answer))
        }
        let result: ModbusAnswer | Promise<ModbusAnswer>
        try {
          result = options.onRequest({unitId: frame.unitId, pdu: frame.pdu, socket})
        } catch {
          // Server device failure: the device model threw where it should have answered an exception.
          send(Buffer.from([(frame.pdu[0] | 0x80) & 0xff, 4]))
          continue
        }
        if (result instanceof Promise) result.then(send, () => send(Buffer.from([(frame.pdu[0] | 0x80) & 0xff, 4])))
        else send(result)
      }
    })
  })
  return listen(server, options.port, host).then((port) => ({
    host,
    port,
    connections,
    ...connectionControls(server, connections),
  }))
}

/** Listens on host:port (0: the OS chooses) and resolves with the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address()
      resolve(typeof address === 'object' && address ? address.port : port)
    })
  })
}

/** Dropping every open connection (a fault) and closing the listener with them. */
export function connectionControls(server: Server, connections: Set<Socket>): {dropConnections(): number; close(): Promise<void>} {
  return {
    dropConnections() {
      const n = connections.size
      for (const s of connections) s.destroy()
      return n
    },
    close() {
      for (const s of connections) s.destroy()
      return new Promise<void>((done) => server.close(() => done()))
    },
  }
}
