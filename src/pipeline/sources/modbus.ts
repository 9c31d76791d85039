/**
 * `type: modbus`: iotd as the gateway. Polls Modbus TCP devices (host, port, unit ids) on a schedule per device
 * group, with the tag map format of simulated devices (src/modbus/tag-map.ts), merges contiguous tags into the
 * fewest reads (src/modbus/planner.ts), retries timeouts, and yields one record of decoded engineering values per
 * device and poll. A device that fails `offlineAfter` polls in a row yields one `status: offline` record; its next
 * answer yields `status: online`. A device that answers a read with an exception is online but misconfigured: the
 * read goes to the dead letter with the exception, and the record carries the tags that could be read.
 */
import {z} from 'zod'
import {planReads, decodeRead, type PlannedRead} from '../../modbus/planner.js'
import {deviceMapFields, resolveTagList, tagFields, type RawTag} from '../../modbus/tag-map.js'
import type {ResolvedTag, TagValue} from '../../modbus/types.js'
import {ModbusException} from '../../modbus/pdu.js'
import {createModbusClient, describeModbusTarget, parseModbusTarget, type ModbusClient, type ModbusTarget} from '../../net/modbus-transport.js'
import {duration} from '../../config/units-schema.js'
import {parseTemplate, renderTemplate} from '../../config/template.js'
import {arrivalNow, defineSource, type Delivery, type StageContext} from '../types.js'

const NOOP = () => {}

const unitList = z
  .union([
    z.number().int().min(1).max(255),
    z.array(z.number().int().min(0).max(255)).min(1),
    z.string().regex(/^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$/, 'units as text is a list of ids and ranges, e.g. "1-50" or "1,2,10-20"'),
  ])
  .meta({description: 'Unit ids: a count N (1..N), a list, or ranges as text ("1-50,60").'})

const tagSchema = z.strictObject(tagFields)

const deviceGroupSchema = z.strictObject({
  url: z
    .string()
    .optional()
    .meta({description: 'Instead of host and port: serial:///dev/ttyUSB0?baud=19200&parity=even (a Modbus RTU line) or rtu+tcp://host:port (RTU frames over TCP); docs/modbus.md.'}),
  host: z.string().default('127.0.0.1').meta({description: 'Device or gateway address.'}),
  port: z.number().int().min(1).max(65535).default(502),
  units: unitList.default(1),
  name: z.string().default('{host}:{port}/{unit}').meta({description: 'Device name template (the record key): {host} {port} {unit}.'}),
  poll: duration({positive: true}).optional().meta({description: 'Poll interval of this group (default: the source\'s poll).'}),
  tags: z.array(tagSchema).min(1).optional().meta({description: 'Tag map of this group (default: the source\'s tags).'}),
  ...deviceMapFields,
})

const options = z
  .strictObject({
    poll: duration({positive: true}).default(1000).meta({description: 'Poll interval (default 1s).'}),
    timeout: duration({positive: true}).default(500).meta({description: 'Per-request timeout (default 500ms).'}),
    retries: z.number().int().min(0).max(10).default(1).meta({description: 'Retries of a read that timed out or lost its connection, within the same poll (default 1).'}),
    offlineAfter: z.number().int().min(1).default(3).meta({description: 'Consecutive failed polls before the device is reported offline (default 3).'}),
    maxGap: z.number().int().min(0).max(124).default(0).meta({description: 'Unmapped registers a read may span to join two tags (default 0: only contiguous tags merge).'}),
    inflight: z.number().int().min(1).max(255).default(16).meta({description: 'Requests in flight per TCP connection (default 16).'}),
    tags: z.array(tagSchema).min(1).optional().meta({description: 'Tag map shared by every device group (docs/modbus.md).'}),
    ...deviceMapFields,
    devices: z.array(deviceGroupSchema).min(1).meta({description: 'Device groups: host, port, unit ids, optional tags and poll interval.'}),
  })
  .transform((o, ctx) => {
    const groups = o.devices.map((g, i) => {
      const raws = (g.tags ?? o.tags) as RawTag[] | undefined
      if (!raws) {
        ctx.addIssue({code: 'custom', path: ['devices', i, 'tags'], message: 'no tags: give tags here or on the source', input: g})
        return undefined
      }
      const {tags, problems} = resolveTagList(raws, {addressBase: g.addressBase ?? o.addressBase, order: g.order ?? o.order})
      for (const p of problems) ctx.addIssue({code: 'custom', path: g.tags ? ['devices', i, 'tags', ...p.path] : ['tags', ...p.path], message: p.message, input: raws})
      let target: ModbusTarget = {transport: 'tcp', host: g.host, port: g.port}
      let urlUnit: number | undefined
      if (g.url !== undefined) {
        try {
          const parsed = parseModbusTarget(g.url)
          target = parsed.target
          urlUnit = parsed.unit
        } catch (error) {
          ctx.addIssue({code: 'custom', path: ['devices', i, 'url'], message: (error as Error).message, input: g.url})
          return undefined
        }
      }
      return {target, host: g.host, port: g.port, units: urlUnit !== undefined && g.units === 1 ? [urlUnit] : units(g.units), name: g.name, pollMs: g.poll ?? o.poll, tags}
    })
    return {pollMs: o.poll, timeoutMs: o.timeout, retries: o.retries, offlineAfter: o.offlineAfter, maxGap: o.maxGap, inflight: o.inflight, groups: groups.filter((g) => g !== undefined)}
  })

export type ModbusSourceOptions = z.output<typeof options>

function units(spec: number | number[] | string): number[] {
  if (typeof spec === 'number') return Array.from({length: spec}, (_, i) => i + 1)
  if (Array.isArray(spec)) return spec
  const out: number[] = []
  for (const part of spec.split(',')) {
    const [a, b] = part.split('-').map((x) => Number(x.trim()))
    for (let u = a; u <= (b ?? a); u++) out.push(u)
  }
  return out
}

/** Counters of a modbus source, for the run summary and the perf harness. */
export interface ModbusSourceStats {
  devices: number
  polls: number
  /** Polls whose due time came while the previous poll of the device was still running (skipped, not queued). */
  missed: number
  failed: number
  requests: number
  timeouts: number
  /** RTU: answers with a bad CRC (counted as failed reads, retried like a timeout). */
  crcErrors: number
  exceptions: number
  offline: number
  /** Records not kept because the pipeline did not take them (MAX_PENDING waiting). */
  dropped: number
}

/** Records waiting for the pipeline before new ones are dropped (and counted): a poller must not buffer without bound. */
const MAX_PENDING = 100_000

interface PolledDevice {
  name: string
  host: string
  port: number
  unit: number
  pollMs: number
  phaseMs: number
  reads: PlannedRead[]
  client: ConnectionSlot
  busy: boolean
  failures: number
  offlineSince?: number
  n: number
}

/**
 * One connection per host:port (or serial line), with a bound on requests in flight (gateways serialise behind it; an
 * RTU line carries one request at a time whatever the bound).
 */
class ConnectionSlot {
  readonly client: ModbusClient
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor(
    target: ModbusTarget,
    timeoutMs: number,
    private readonly limit: number,
  ) {
    this.client = createModbusClient(target, {timeoutMs, connectTimeoutMs: Math.max(timeoutMs, 1000)})
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

export const modbusSource = defineSource({
  type: 'modbus',
  summary: 'Polls Modbus devices over TCP, RTU over TCP or serial lines (tag maps, merged reads, retries, offline detection): iotd as the gateway.',
  options,
  example: {
    type: 'modbus',
    poll: '1s',
    order: 'CDAB',
    tags: [
      {name: 'voltage', address: 30001, type: 'float32'},
      {name: 'temperature', address: 30009, type: 'int16', scale: 0.1},
    ],
    devices: [{host: '127.0.0.1', port: 5020, units: '1-50', name: 'meter-{port}-{unit:02}'}],
  },
  create(opts, name) {
    const slots = new Map<string, ConnectionSlot>()
    const stats: ModbusSourceStats = {devices: 0, polls: 0, missed: 0, failed: 0, requests: 0, timeouts: 0, crcErrors: 0, exceptions: 0, offline: 0, dropped: 0}
    const devices: PolledDevice[] = []
    for (const g of opts.groups) {
      const key = describeModbusTarget(g.target)
      let slot = slots.get(key)
      if (!slot) slots.set(key, (slot = new ConnectionSlot(g.target, opts.timeoutMs, opts.inflight)))
      const template = parseTemplate(g.name, 'lenient')
      const reads = planReads(g.tags, {maxGap: opts.maxGap})
      for (const unit of g.units) {
        const vars: Record<string, string> = g.target.transport === 'serial' ? {host: g.target.path, port: '0', unit: String(unit)} : {host: g.target.host, port: String(g.target.port), unit: String(unit)}
        // Spread a group's polls over its interval, so 1,000 devices are not 1,000 requests in the same millisecond.
        const phaseMs = ((devices.length * 7919) % 1000) / 1000 * g.pollMs
        devices.push({name: renderTemplate(template, (n) => vars[n]), host: vars.host, port: Number(vars.port), unit, pollMs: g.pollMs, phaseMs, reads, client: slot, busy: false, failures: 0, n: 0})
      }
    }
    stats.devices = devices.length
    const timers = new Set<NodeJS.Timeout>()
    let closed = false

    const source = {
      name,
      stats: (): ModbusSourceStats => ({...stats}),
      async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
        let pending: Delivery[] = []
        let wake: (() => void) | undefined
        const emit = (ts: number, device: PolledDevice, fields: Record<string, unknown>) => {
          if (pending.length >= MAX_PENDING) {
            stats.dropped++
            return
          }
          pending.push({
            record: {ts, key: device.name, topic: `modbus/${device.name}`, fields: {device: device.name, host: device.host, port: device.port, unit: device.unit, ...fields}, meta: {source: name, arrivedAt: arrivalNow()}},
            ack: NOOP,
          })
          wake?.()
        }
        const poll = async (device: PolledDevice) => {
          stats.polls++
          const values: Record<string, TagValue> = {}
          let lost: Error | undefined
          for (const read of device.reads) {
            for (let attempt = 0; attempt <= opts.retries; attempt++) {
              stats.requests++
              try {
                const data = await device.client.run(() => device.client.client.read(device.unit, read.table, read.address, read.count))
                decodeRead(read, data, values)
                lost = undefined
                break
              } catch (error) {
                if (error instanceof ModbusException) {
                  // The device is there and refused: retrying will not help, and the rest of the poll still can.
                  stats.exceptions++
                  ctx.deadLetter({stage: `source:${name}`, reason: `${device.name}: read of ${read.table} ${read.address} (${read.count}) for ${read.tags.map((t: ResolvedTag) => t.name).join(', ')} answered ${error.message}`, at: Date.now()})
                  break
                }
                if ((error as Error).name === 'ModbusTimeoutError') stats.timeouts++
                else if ((error as Error).name === 'ModbusCrcError') stats.crcErrors++
                lost = error as Error
              }
            }
            if (lost) break
          }
          const now = Date.now()
          // Polls cut short by the end of the run are neither failures nor records.
          if (closed) return
          if (lost) {
            stats.failed++
            device.failures++
            if (device.failures === opts.offlineAfter && device.offlineSince === undefined) {
              device.offlineSince = now
              stats.offline++
              emit(now, device, {status: 'offline', error: lost.message, failedPolls: device.failures})
            }
            return
          }
          if (device.offlineSince !== undefined) {
            emit(now, device, {status: 'online', offlineForMs: now - device.offlineSince})
            device.offlineSince = undefined
          }
          device.failures = 0
          emit(now, device, {status: 'ok', ...values})
        }
        const start = Date.now()
        const schedule = (device: PolledDevice) => {
          if (closed || ctx.signal.aborted) return
          const due = start + device.phaseMs + device.n * device.pollMs
          const timer = setTimeout(() => {
            timers.delete(timer)
            device.n++
            if (device.busy) {
              // Never queue polls behind a slow device: that would report old values late. Count and skip.
              stats.missed++
            } else {
              device.busy = true
              poll(device).finally(() => (device.busy = false))
            }
            schedule(device)
          }, Math.max(0, due - Date.now()))
          timers.add(timer)
        }
        for (const d of devices) schedule(d)
        const onAbort = () => wake?.()
        ctx.signal.addEventListener('abort', onAbort)
        try {
          while (!ctx.signal.aborted && !closed) {
            if (pending.length === 0) {
              await new Promise<void>((resolve) => (wake = resolve))
              wake = undefined
              continue
            }
            const batch = pending
            pending = []
            yield batch
          }
        } finally {
          ctx.signal.removeEventListener('abort', onAbort)
          await source.close()
        }
      },
      async *read(ctx: StageContext): AsyncIterable<Delivery> {
        for await (const batch of source.readBatches(ctx)) yield* batch
      },
      async close() {
        closed = true
        for (const t of timers) clearTimeout(t)
        timers.clear()
        await Promise.all([...slots.values()].map((s) => s.client.close()))
      },
    }
    return source
  },
})
