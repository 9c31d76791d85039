import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Duplex} from 'node:stream'
import {encodeRtuFrame, frameSilenceMs, lineTimeMs, requestFrameLength, rtuCrcOk} from '../modbus/rtu.js'
import {connectionControls, listen, type ModbusAnswer} from './modbus-server.js'

/**
 * Modbus RTU on the server side: one serial line (a pseudo-terminal iotd creates, a device path, or each connection of
 * an RTU-over-TCP listener) carrying requests for the unit ids behind it.
 *
 * Framing: a request's length follows from its function code (and byte count), so frames are split without waiting
 * for the 3.5-character silence a pseudo-terminal cannot keep; a function code of unknown length is ended by the
 * silence. A frame with a bad CRC is counted and not answered, and whatever follows it until the next silence is
 * dropped (the line resynchronises as a device's UART does). Unit 0 is broadcast: every unit acts on it, none answers.
 *
 * Line timing (`lineTiming: true`): an answer leaves no sooner than the exchange would take on a real line at `baud` —
 * request bytes + response bytes at 11 bits a character, plus 3.5 characters of silence between them — so a poll
 * plan can be tried against a realistic line. One request is answered at a time, as on a half-duplex RS-485 line.
 */

export interface RtuLineOptions {
  baud: number
  lineTiming: boolean
  onRequest(unitId: number, pdu: Buffer): ModbusAnswer | Promise<ModbusAnswer>
  /** Unit 0: every unit acts, none answers. */
  onBroadcast(pdu: Buffer): void
}

export interface RtuLineCounters {
  frames: number
  crcErrors: number
  /** Bytes dropped while resynchronising after a bad frame. */
  droppedBytes: number
  broadcasts: number
}

export interface RtuLine {
  readonly counters: RtuLineCounters
  close(): Promise<void>
}

/** Serves RTU requests arriving on `stream`, answering on it. */
export function serveRtuLine(stream: Duplex, options: RtuLineOptions, counters: RtuLineCounters = {frames: 0, crcErrors: 0, droppedBytes: 0, broadcasts: 0}): RtuLine {
  let buffer: Buffer = Buffer.alloc(0)
  let silenceTimer: NodeJS.Timeout | undefined
  let resyncing = false
  let closed = false
  // Half duplex: answers go out one after the other, each no sooner than the line allows.
  let lineFreeAt = 0
  let queue: Promise<void> = Promise.resolve()
  const silence = Math.max(frameSilenceMs(options.baud), 1)

  const answer = (unitId: number, pdu: Buffer, requestBytes: number, receivedAt: number) => {
    queue = queue.then(async () => {
      let result: ModbusAnswer
      try {
        result = await options.onRequest(unitId, pdu)
      } catch {
        result = Buffer.from([(pdu[0] | 0x80) & 0xff, 4])
      }
      if (!result || closed) return
      const frame = encodeRtuFrame(unitId, result)
      if (options.lineTiming) {
        const due = Math.max(receivedAt, lineFreeAt) + lineTimeMs(requestBytes + frame.length, options.baud) + frameSilenceMs(options.baud)
        lineFreeAt = due
        const wait = due - performance.now()
        if (wait > 0) await sleepPrecise(wait)
      }
      if (!closed && !stream.destroyed) stream.write(frame)
    })
  }

  const take = () => {
    while (buffer.length > 0 && !resyncing) {
      const length = requestFrameLength(buffer)
      if (length === undefined || length === 0 || buffer.length < length) return
      const frame = buffer.subarray(0, length)
      buffer = buffer.subarray(length)
      if (!rtuCrcOk(frame)) {
        counters.crcErrors++
        // What follows a corrupt frame cannot be trusted to start a frame: drop until the line is silent.
        counters.droppedBytes += buffer.length
        buffer = Buffer.alloc(0)
        resyncing = true
        return
      }
      counters.frames++
      const unitId = frame[0]
      const pdu = Buffer.from(frame.subarray(1, length - 2))
      if (unitId === 0) {
        counters.broadcasts++
        options.onBroadcast(pdu)
        continue
      }
      answer(unitId, pdu, length, performance.now())
    }
  }

  const onData = (chunk: Buffer) => {
    clearTimeout(silenceTimer)
    if (resyncing) counters.droppedBytes += chunk.length
    else buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk])
    take()
    // The silence ends a frame of unknown length, and the resynchronisation after a bad one.
    silenceTimer = setTimeout(() => {
      if (resyncing) resyncing = false
      else if (buffer.length > 0) {
        const length = requestFrameLength(buffer)
        if (length === 0 && rtuCrcOk(buffer)) {
          counters.frames++
          const pdu = Buffer.from(buffer.subarray(1, buffer.length - 2))
          if (buffer[0] === 0) options.onBroadcast(pdu)
          else answer(buffer[0], pdu, buffer.length, performance.now())
        } else {
          if (length === 0) counters.crcErrors++
          counters.droppedBytes += buffer.length
        }
        buffer = Buffer.alloc(0)
      }
    }, Math.max(silence * 4, 20))
  }
  stream.on('data', onData)
  stream.on('error', () => {})
  return {
    counters,
    async close() {
      closed = true
      clearTimeout(silenceTimer)
      stream.off('data', onData)
      await queue.catch(() => undefined)
    },
  }
}

/** setTimeout wakes a millisecond or more late; the last 2 ms are waited out so line timing holds at high baud. */
async function sleepPrecise(ms: number): Promise<void> {
  const until = performance.now() + ms
  if (ms > 2) await new Promise((r) => setTimeout(r, ms - 2))
  while (performance.now() < until) await new Promise((r) => setImmediate(r))
}

export interface RtuTcpServer {
  readonly host: string
  readonly port: number
  readonly counters: RtuLineCounters
  dropConnections(): number
  close(): Promise<void>
}

/** RTU over TCP: a listener whose connections carry RTU frames (CRC, no MBAP header), as many serial gateways speak. */
export function startRtuTcpServer(options: RtuLineOptions & {host?: string; port: number}): Promise<RtuTcpServer> {
  const host = options.host ?? '127.0.0.1'
  const connections = new Set<Socket>()
  const counters: RtuLineCounters = {frames: 0, crcErrors: 0, droppedBytes: 0, broadcasts: 0}
  const server: Server = createServer({noDelay: true}, (socket) => {
    connections.add(socket)
    const line = serveRtuLine(socket, options, counters)
    socket.on('close', () => {
      connections.delete(socket)
      void line.close()
    })
    socket.on('error', () => socket.destroy())
  })
  return listen(server, options.port, host).then((port) => ({
    host,
    port,
    counters,
    ...connectionControls(server, connections),
  }))
}

export interface SerialEndpoint {
  /** The device path clients open (the pseudo-terminal's link, or the device given). */
  readonly path: string
  readonly stream: Duplex
  close(): Promise<void>
}

/**
 * A pseudo-terminal for a simulated line: Debian's socat makes it (`pty,raw,echo=0,link=PATH` joined to its stdio),
 * so clients open PATH like any serial port while iotd reads and writes socat's pipes. Node has no openpty of its own.
 */
export async function openPseudoTerminal(link?: string): Promise<SerialEndpoint> {
  const dir = link ? undefined : mkdtempSync(join(tmpdir(), 'iotd-rtu-'))
  const path = link ?? join(dir as string, 'tty')
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${path}`, 'STDIO'], {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? 'a simulated serial line needs socat to make its pseudo-terminal (apt-get install socat), or give device: a path' : `socat: ${error.message}`)),
    )
    child.once('exit', (code) => reject(new Error(`socat could not make a pseudo-terminal at ${path} (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`)))
  })
  const ready = (async () => {
    const until = Date.now() + 5000
    while (!/starting data transfer loop/.test(stderr) || !existsSync(path)) {
      if (Date.now() > until) throw new Error(`socat did not make the pseudo-terminal ${path} within 5 s`)
      await new Promise((r) => setTimeout(r, 10))
    }
  })()
  await Promise.race([ready, failed])
  failed.catch(() => undefined)
  const stream = Duplex.from({readable: child.stdout, writable: child.stdin})
  return {
    path,
    stream,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await exited
      }
      if (dir) rmSync(dir, {recursive: true, force: true})
    },
  }
}

export interface SerialSettings {
  path: string
  baud: number
  parity: 'none' | 'even' | 'odd'
  dataBits: 7 | 8
  stopBits: 1 | 2
}

/** A serial device (a real RS-485 adapter, or one end of a socat pair) opened with serialport. */
export async function openSerialDevice(s: SerialSettings): Promise<SerialEndpoint> {
  const {SerialPort} = await import('serialport')
  const port = new SerialPort({path: s.path, baudRate: s.baud, parity: s.parity, dataBits: s.dataBits, stopBits: s.stopBits, autoOpen: false})
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(new Error(`cannot open ${s.path}: ${err.message}`)) : resolve())))
  return {
    path: s.path,
    stream: port,
    close: () => new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve())),
  }
}
