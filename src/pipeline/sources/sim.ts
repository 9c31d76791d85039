/**
 * `type: sim`: a scenario file run in-process, no broker. The device streams are the ones `iotd sim` publishes
 * (same seed, same payloads), from the simulated-clock loop `iotd sim --backfill` runs on (sim/simulated-streams.ts):
 * as fast as the pipeline takes them (a finite source), or paced to the wall clock with `clock: real`.
 *
 * Resumable: the streams are a function of the seed, the start of simulated time and (clock: real) how it maps to
 * the wall clock, so a checkpoint keeps those two (startState) and a restart generates the same messages again,
 * skipping those already taken; with `clock: real` it then catches up on the time it was down.
 */
import {resolve} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {z} from 'zod'
import {duration} from '../../config/units-schema.js'
import {expandDevices, loadScenario} from '../../sim/scenario/index.js'
import {SimulatedStreams} from '../../sim/simulated-streams.js'
import {decodeJson, makeRecord, toEpochMs} from '../records.js'
import {ConfigError, formatProblem, IotdError, UsageError} from '../../errors.js'
import {arrivalNow, NOOP_ACK, defineSource, type ComponentProblem, type Delivery, type StageContext} from '../types.js'

const options = z.strictObject({
  scenario: z.string().min(1).meta({description: 'Scenario file (as for iotd sim), relative to the pipeline file.'}),
  from: z
    .union([z.string(), z.number()])
    .optional()
    .meta({description: 'Start of simulated time (ISO-8601 or epoch ms). Default: now (clock: real) or the start of the current hour.'}),
  duration: duration({positive: true}).default(600_000).meta({description: 'Simulated time to generate.'}),
  clock: z.enum(['simulated', 'real']).default('simulated').meta({description: 'simulated: as fast as possible (finite); real: messages at their wall-clock time.'}),
  fleets: z.array(z.string()).optional().meta({description: 'Only these fleets of the scenario.'}),
  seed: z.number().int().optional().meta({description: 'Overrides the scenario seed.'}),
  limit: z.number().int().min(1).optional().meta({description: 'Stop after this many messages.'}),
})

export const simSource = defineSource({
  type: 'sim',
  summary: 'A scenario file simulated in-process (no broker), on a simulated clock or in real time.',
  options,
  finite: true,
  resumable: true,
  example: {type: 'sim', scenario: '../smart-factory.yaml', duration: '10m', timestamp: 'ts'},
  // What a read refuses before it makes a message, found when the pipeline is loaded (lint and run alike): the
  // scenario file (its own problems at their file:line:col), the fleets named, the start of simulated time.
  check(opts, env) {
    const problems: ComponentProblem[] = []
    if (opts.from !== undefined && toEpochMs(opts.from) === undefined) problems.push({path: ['from'], message: `"${String(opts.from)}" is not a date/time`})
    try {
      const scenario = loadScenario(resolve(env.baseDir, opts.scenario), {env: env.env as NodeJS.ProcessEnv})
      try {
        expandDevices(scenario, {fleets: opts.fleets})
      } catch (error) {
        if (!(error instanceof UsageError)) throw error
        problems.push({path: ['fleets'], message: `${error.message} (${error.suggestions.join('; ')})`})
      }
    } catch (error) {
      if (error instanceof ConfigError) for (const p of error.problems) problems.push({path: ['scenario'], message: formatProblem(p).split('\n')[0]})
      else if (error instanceof IotdError) problems.push({path: ['scenario'], message: error.message})
      else throw error
    }
    return problems
  },
  create(opts, name, env) {
    /** Start of simulated time and the wall clock's lead over it: fixed by the first read, or by the resumed run. */
    let start: {fromMs: number; wallOffset: number} | undefined
    return {
      name,
      startState: () => start,
      resumeStart(data) {
        start = data as {fromMs: number; wallOffset: number}
      },
      async *readBatches(ctx: StageContext): AsyncIterable<readonly Delivery[]> {
        const loaded = loadScenario(resolve(env.baseDir, opts.scenario), {env: env.env as NodeJS.ProcessEnv})
        const scenario = opts.seed === undefined ? loaded : {...loaded, seed: opts.seed}
        const devices = expandDevices(scenario, {fleets: opts.fleets})
        const real = opts.clock === 'real'
        if (start === undefined) {
          const from = opts.from !== undefined ? (toEpochMs(opts.from) ?? Number.NaN) : real ? Date.now() : Math.floor(Date.now() / 3_600_000) * 3_600_000
          if (!Number.isFinite(from)) throw new Error(`source ${name}: from: "${String(opts.from)}" is not a date/time`)
          start = {fromMs: from, wallOffset: Date.now() - from}
        }
        const {fromMs, wallOffset} = start
        const toMs = fromMs + opts.duration
        const streams = new SimulatedStreams(scenario, devices, fromMs)
        let produced = 0
        let batch: Delivery[] = []
        while (streams.peekDue() < toMs && !ctx.signal.aborted) {
          if (opts.limit !== undefined && produced >= opts.limit) break
          const due = streams.peekDue()
          if (real) {
            const wait = due + wallOffset - Date.now()
            if (wait > 1) {
              if (batch.length > 0) {
                yield batch
                batch = []
              }
              await sleep(wait, undefined, {signal: ctx.signal}).catch(() => undefined)
              continue
            }
          }
          const {ts, device, sample} = streams.take()
          if (sample.payload === null) continue
          produced++
          const decoded = decodeJson(sample.payload)
          const fields = decoded.ok ? decoded.fields : sample.payload
          const meta = {source: name, topic: device.topic, qos: device.qos, retain: device.retain, clientid: device.clientId, arrivedAt: arrivalNow()}
          batch.push({record: makeRecord(ts, fields, meta, {key: device.deviceId}), ack: NOOP_ACK})
          if (batch.length >= 512) {
            yield batch
            batch = []
          }
        }
        if (batch.length > 0) yield batch
      },
      async *read(ctx: StageContext): AsyncIterable<Delivery> {
        for await (const batch of this.readBatches!(ctx)) yield* batch
      },
      async close() {},
    }
  },
})
