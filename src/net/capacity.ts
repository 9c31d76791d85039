/**
 * Will this machine let a fleet open that many connections? Two limits bite first on Linux: the open-files limit
 * (one fd per socket in this process, and the broker's sockets too when it runs embedded here), and the local port
 * range (at most that many connections per source address -> broker address:port). Checking up front turns a
 * confusing EMFILE/EADDRNOTAVAIL storm half-way through a run into one sentence with the fix.
 */
import {readFileSync} from 'node:fs'

export interface SystemLimits {
  /** Open files (RLIMIT_NOFILE); absent when unknown (not Linux). `Infinity` for "unlimited". */
  openFiles?: {soft: number; hard: number}
  /** The ephemeral port range; absent when unknown. */
  localPortRange?: {low: number; high: number}
}

export interface CapacityRequest {
  connections: number
  /** Source addresses the connections are spread over (0 or 1 = the OS picks one). */
  sourceAddresses: number
  /** Broker on loopback: 127.0.0.x source addresses are free to use. */
  brokerIsLocal: boolean
  /** Broker running inside this process: its sockets count against our open-files limit too. */
  embeddedBroker: boolean
}

export interface CapacityCheck {
  ok: boolean
  problems: string[]
  advice: string[]
}

/** File descriptors this process needs besides the connections (stdio, files, worker pipes, DNS, timers). */
export const FD_HEADROOM = 100

/** Reads the limits from /proc; each reading is skipped when it cannot be made. `readText` is injectable for tests. */
export function readSystemLimits(readText: (path: string) => string = (p) => readFileSync(p, 'utf8')): SystemLimits {
  const limits: SystemLimits = {}
  try {
    const line = readText('/proc/self/limits')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const m = line && /^Max open files\s+(\S+)\s+(\S+)/.exec(line)
    if (m) limits.openFiles = {soft: parseLimit(m[1]), hard: parseLimit(m[2])}
  } catch {
    // Not Linux, or /proc is not mounted: the open-files check is skipped.
  }
  try {
    const [low, high] = readText('/proc/sys/net/ipv4/ip_local_port_range').trim().split(/\s+/).map(Number)
    if (Number.isInteger(low) && Number.isInteger(high) && high >= low) limits.localPortRange = {low, high}
  } catch {
    // Unknown range: the port check is skipped.
  }
  return limits
}

export function checkConnectionCapacity(req: CapacityRequest, limits: SystemLimits = readSystemLimits()): CapacityCheck {
  const problems: string[] = []
  const advice: string[] = []
  const n = Math.max(0, Math.floor(req.connections))

  if (limits.openFiles) {
    const {soft, hard} = limits.openFiles
    const fds = n * (req.embeddedBroker ? 2 : 1) + FD_HEADROOM
    if (fds > soft) {
      const who = req.embeddedBroker ? ' (the embedded broker in this process needs one more fd per connection)' : ''
      // Suggest a round number the hard limit allows: 65536, or the next power of two for bigger fleets.
      const raiseTo = Math.min(hard, Math.max(65_536, nextPowerOfTwo(fds)))
      const fix =
        fds <= hard
          ? `raise it (ulimit -n ${raiseTo})`
          : `raise the hard limit (limits.conf / systemd LimitNOFILE${hard === Infinity ? '' : `; it is ${fmt(hard)}`})`
      problems.push(
        `${fmt(n)} connections need more than the open-files limit of ${fmt(soft)} (ulimit -n)${who}; ${fix} or split the fleet over several iotd processes (e.g. one per --fleet)`,
      )
      if (req.embeddedBroker) advice.push('run the broker in its own process (iotd broker, or mosquitto) so it has its own open-files limit')
    }
  }

  if (limits.localPortRange && n > 0) {
    const {low, high} = limits.localPortRange
    const ports = high - low + 1
    const sources = Math.max(1, req.sourceAddresses)
    const perSource = Math.ceil(n / sources)
    if (perSource > ports) {
      const needed = Math.ceil(n / ports)
      const from = sources > 1 ? `each of ${sources} source addresses` : 'one source address'
      const example = req.brokerIsLocal ? ` --source-ip ${loopbackExample(needed)}` : ' --source-ip with more addresses of this host'
      problems.push(
        `${fmt(n)} connections from ${from} exceed the ${fmt(ports)} local ports (${low}–${high}); add${example}`,
      )
      advice.push(
        req.brokerIsLocal
          ? `${needed} source addresses are needed; on loopback any 127.0.0.x works (e.g. 127.0.0.2-${needed + 1})`
          : `${needed} source addresses are needed (or more broker listeners/ports: the limit is per source -> broker address:port)`,
      )
    }
  }

  return {ok: problems.length === 0, problems, advice}
}

function parseLimit(text: string): number {
  return text === 'unlimited' ? Infinity : Number(text)
}

function nextPowerOfTwo(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, x)))
}

function loopbackExample(needed: number): string {
  const count = Math.max(2, needed)
  return Array.from({length: count}, (_, i) => `127.0.0.${i + 2}`).join(',')
}

function fmt(n: number): string {
  return n.toLocaleString('en-US')
}
