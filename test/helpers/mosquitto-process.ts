/**
 * A private mosquitto per test suite or perf run: its own config, port, log and persistence directory in a temp
 * dir. Every process started here is killed by PID when the suite ends (afterAll via describeMosquitto in
 * mosquitto.ts) or the perf case ends, and, as a last resort, when the process exits, so a failed run leaves no
 * broker behind.
 */
import {spawn, execFileSync, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync, existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {connectOnce} from '../../src/net/mqtt-connection.js'
import {freePort} from './ports.js'
import {readLog, stopChild, trackChild} from './server-process.js'

export interface MosquittoOptions {
  /** Keep sessions and queued QoS 1/2 messages across restart() (saved on clean shutdown). */
  persistence?: boolean
  /** More mosquitto.conf lines, appended as given. */
  extraConfig?: string[]
  /** mosquitto's own defaults for max_inflight_messages (20) and max_queued_messages (1000) instead of unlimited. */
  brokerDefaults?: boolean
  /** The listener's max_connections (default unlimited). */
  maxConnections?: number
}

export interface Mosquitto {
  url: string
  host: string
  port: number
  /** PID of the current process (changes on restart). */
  readonly pid: number
  /** The temp dir holding config, log and persistence. */
  dir: string
  /** SIGTERM (mosquitto saves persistence), wait for exit; SIGKILL after 5 s. Removes the temp dir. */
  stop(): Promise<void>
  /** Sends a signal to the process by PID (SIGKILL to simulate a crash). */
  kill(signal: NodeJS.Signals): void
  /** Stops cleanly and starts again on the same port with the same config and persistence. */
  restart(): Promise<void>
  /** SIGSTOP: the broker stops answering but keeps its sockets (a hung broker). */
  pause(): void
  /** SIGCONT after pause(). */
  resume(): void
  /** The current value of a $SYS topic, e.g. `broker/publish/messages/received` or `$SYS/broker/clients/connected`. */
  readSys(topic: string): Promise<string>
  /**
   * A numeric $SYS counter once it has stopped moving. mosquitto refreshes $SYS when more than sys_interval whole
   * seconds have passed, so about every 2 s here: two reads 1.1 s apart can agree while the broker already counted
   * more (perf/sim-scale.ts once reported 99.1 % delivered for runs whose count, read later, equalled the client's).
   * The value has to hold over three reads, 2.2 s, which spans a refresh.
   */
  readSysSettled(topic: string): Promise<number>
  /** The broker's log so far (for failure messages). */
  log(): string
}

const HOST = '127.0.0.1'

let binaryPath: string | null | undefined
/** Path of the mosquitto binary, or null when it is not installed. */
export function mosquittoBinary(): string | null {
  if (binaryPath !== undefined) return binaryPath
  const candidates = ['/usr/sbin/mosquitto', '/usr/local/sbin/mosquitto', '/opt/homebrew/sbin/mosquitto']
  try {
    const found = execFileSync('sh', ['-c', 'command -v mosquitto'], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']}).trim()
    if (found) candidates.unshift(found)
  } catch {
    // not on PATH; try the usual sbin locations
  }
  binaryPath = candidates.find((p) => existsSync(p)) ?? null
  return binaryPath
}

export function mosquittoAvailable(): boolean {
  return mosquittoBinary() !== null
}

const live = new Set<ChildProcess>()

/** Stops every mosquitto this test process started. */
export async function stopAllMosquittos(): Promise<void> {
  await Promise.all([...live].map((child) => stopChild(child, 5000)))
}

/** A mosquitto for the length of `fn`: started, handed to it, and stopped however `fn` ends. */
export async function withMosquitto<T>(opts: MosquittoOptions, fn: (broker: Mosquitto) => Promise<T>): Promise<T> {
  const broker = await startMosquitto(opts)
  try {
    return await fn(broker)
  } finally {
    await broker.stop()
  }
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = mosquittoBinary()
  if (!binary) throw new Error('mosquitto is not installed')
  const dir = mkdtempSync(join(tmpdir(), 'iotd-mosquitto-'))
  const confPath = join(dir, 'mosquitto.conf')
  const logPath = join(dir, 'mosquitto.log')
  let port = 0
  let child: ChildProcess | undefined

  const writeConfig = (): void => {
    const lines = [
      `listener ${port} ${HOST}`,
      'allow_anonymous true',
      // Running as root, mosquitto would drop to the `mosquitto` user and lose access to this temp dir.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'sys_interval 1',
      `persistence ${opts.persistence ? 'true' : 'false'}`,
      ...(opts.persistence ? [`persistence_location ${dir}/`, 'autosave_interval 1'] : []),
      ...(opts.brokerDefaults ? [] : ['max_queued_messages 1000000', 'max_inflight_messages 0']),
      ...(opts.maxConnections !== undefined ? [`max_connections ${opts.maxConnections}`] : []),
      `log_dest file ${logPath}`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      'log_type information',
      'connection_messages true',
      ...(opts.extraConfig ?? []),
    ]
    writeFileSync(confPath, `${lines.join('\n')}\n`)
  }

  const launch = async (): Promise<void> => {
    writeConfig()
    const proc = spawn(binary, ['-c', confPath], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()))
    live.add(proc)
    proc.once('exit', () => live.delete(proc))
    trackChild(proc)
    child = proc
    const ok = await waitForMqtt(proc, `mqtt://${HOST}:${port}`, 10_000)
    if (!ok) {
      await stopChild(proc, 5000)
      const logText = readLog(logPath)
      const portTaken = /Address already in use/i.test(logText + stderr)
      throw Object.assign(new Error(`mosquitto did not start on port ${port}: ${(stderr + logText).trim().split('\n').slice(-5).join(' | ')}`), {portTaken})
    }
  }

  // The free port can be grabbed by another process before mosquitto binds it: retry on a new port.
  for (let attempt = 0; ; attempt++) {
    port = await freePort(HOST)
    try {
      await launch()
      break
    } catch (err) {
      if (attempt >= 3 || !(err as {portTaken?: boolean}).portTaken) {
        rmSync(dir, {recursive: true, force: true})
        throw err
      }
    }
  }

  const url = `mqtt://${HOST}:${port}`
  const current = (): ChildProcess => {
    if (!child) throw new Error('mosquitto is not running')
    return child
  }
  return {
    url,
    host: HOST,
    port,
    dir,
    get pid() {
      return current().pid ?? -1
    },
    async stop() {
      if (child) await stopChild(child, 5000)
      rmSync(dir, {recursive: true, force: true})
    },
    kill(signal) {
      const pid = current().pid
      if (pid !== undefined) process.kill(pid, signal)
    },
    async restart() {
      if (child) await stopChild(child, 5000)
      await launch()
    },
    pause() {
      const pid = current().pid
      if (pid !== undefined) process.kill(pid, 'SIGSTOP')
    },
    resume() {
      const pid = current().pid
      if (pid !== undefined) process.kill(pid, 'SIGCONT')
    },
    readSys: (topic) => readSys(url, topic.startsWith('$SYS/') ? topic : `$SYS/${topic}`),
    readSysSettled: (topic) => readSysSettled(() => readSys(url, topic.startsWith('$SYS/') ? topic : `$SYS/${topic}`)),
    log: () => readLog(logPath),
  }
}

async function waitForMqtt(proc: ChildProcess, url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) return false
    try {
      const client = await connectOnce({url, clientId: `iotd-test-probe-${process.pid}`, connectTimeoutMs: 1000})
      client.end(true)
      return true
    } catch {
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  return false
}

async function readSysSettled(read: () => Promise<string>): Promise<number> {
  let last = Number(await read())
  let same = 0
  for (let i = 0; i < 15 && same < 2; i++) {
    await new Promise((r) => setTimeout(r, 1100))
    const now = Number(await read())
    same = now === last ? same + 1 : 0
    last = now
  }
  return last
}

function readSys(url: string, topic: string): Promise<string> {
  return connectOnce({url, clientId: `iotd-test-sys-${process.pid}-${Math.random().toString(36).slice(2, 8)}`}).then(
    (client) =>
      new Promise<string>((resolve, reject) => {
        // $SYS values are republished every sys_interval (1 s); allow a few intervals.
        const timer = setTimeout(() => {
          client.end(true)
          reject(new Error(`no message on ${topic} within 5s`))
        }, 5000)
        client.on('message', (t, payload) => {
          if (t !== topic) return
          clearTimeout(timer)
          client.end(true)
          resolve(payload.toString())
        })
        client.subscribe(topic, {qos: 0}, (err) => {
          if (err) {
            clearTimeout(timer)
            client.end(true)
            reject(err)
          }
        })
      }),
  )
}
