import {Flags} from '@oclif/core'
import type {BenchOptions} from '../bench/bench-options.js'
import {EXIT_CODES, IotdError, UsageError} from '../errors.js'
import type {BenchMode} from '../bench/bench-result.js'
import {metricsFlags, metricsNoteFor, startLiveMetrics} from './live-metrics.js'
import {parseInfluxOut, startInfluxOutput} from './influx-output.js'
import {benchPoints} from '../report/influx-points.js'
import type {BenchSnapshot} from '../bench/run-bench.js'
import {BaseCommand} from './base-command.js'
import {withInterrupt} from './interrupt.js'
import {mqttCredentialFlags, mqttTlsFlags} from './mqtt-flags.js'
import {parseShard} from './flag-parsers.js'

/**
 * What `iotd bench`, `bench pub`, `bench sub` and `bench conn` share: the flags, and the run (options from a
 * profile and flags -> request -> runBench -> reporter -> files -> exit code). Each command only names its mode.
 */

export const benchConnectionFlags = {
  broker: Flags.string({char: 'b', summary: 'Broker URL (mqtt:// or mqtts://); default: 127.0.0.1:1883, or the embedded broker.', env: 'IOTD_BROKER'}),
  'default-broker': Flags.string({summary: 'Where to look for a broker when none is named.', env: 'IOTD_DEFAULT_BROKER', hidden: true}),
  ...mqttCredentialFlags,
  ...mqttTlsFlags,
  'mqtt-version': Flags.option({char: 'V', summary: 'MQTT protocol version.', options: ['3.1.1', '5'] as const, env: 'IOTD_MQTT_VERSION'})(),
  qos: Flags.option({char: 'q', summary: 'QoS of the bench messages (default 0).', options: ['0', '1', '2'] as const, env: 'IOTD_QOS'})(),
  'source-ip': Flags.string({summary: 'Local source addresses to spread connections over: 127.0.0.2,127.0.0.3 or 127.0.0.2-127.0.0.9.', env: 'IOTD_SOURCE_IP'}),
  keepalive: Flags.string({summary: 'MQTT keepalive (default 0s: off).', env: 'IOTD_KEEPALIVE'}),
  'connect-timeout': Flags.string({summary: 'TCP/TLS + CONNACK timeout per connection (default 10s).', env: 'IOTD_CONNECT_TIMEOUT'}),
  'client-id-prefix': Flags.string({summary: 'Client id prefix (ids are <prefix>-p<N>, -s<N>, -c<N>).', env: 'IOTD_CLIENT_ID_PREFIX'}),
  workers: Flags.integer({summary: 'Worker threads (default: from the clients and cores).', min: 1, env: 'IOTD_WORKERS'}),
}

export const benchLoadFlags = {
  rate: Flags.string({char: 'r', summary: 'Target rate of the whole run (open model): 10000/s; or max (saturation, with an in-flight window). Default 10000/s.', env: 'IOTD_RATE'}),
  stage: Flags.string({summary: 'A load stage DURATION:RATE, ramping from the previous one (repeat): --stage 30s:10000/s --stage 60s:50000/s.', multiple: true, env: 'IOTD_STAGE'}),
  duration: Flags.string({char: 'd', summary: 'Run length, warm-up included (default 10s).', env: 'IOTD_DURATION'}),
  warmup: Flags.string({summary: 'First part of the run excluded from every figure (default 0s).', env: 'IOTD_WARMUP'}),
  messages: Flags.integer({char: 'n', summary: 'Send at most this many messages in all.', min: 1, env: 'IOTD_MESSAGES'}),
  size: Flags.string({char: 's', summary: 'Payload size, at least 32B (the latency header). Default 100B.', env: 'IOTD_SIZE'}),
  topic: Flags.string({char: 't', summary: 'Publish topic; %i is the publisher number, %s the shard (default bench/%i).', env: 'IOTD_TOPIC'}),
  retain: Flags.boolean({summary: 'Publish with the retain flag.', env: 'IOTD_RETAIN'}),
  inflight: Flags.integer({summary: 'Un-acknowledged messages per publisher: the window of --rate max (default 100), and the QoS 1/2 limit otherwise (default 16384).', min: 1, max: 65_535, env: 'IOTD_INFLIGHT'}),
  'max-lag': Flags.string({summary: 'A message that cannot leave within this of its intended time is dropped and counted (default 1s).', env: 'IOTD_MAX_LAG'}),
}

export const benchOutputFlags = {
  profile: Flags.string({char: 'f', summary: 'Bench profile (YAML, scenarios/bench/*.yaml); flags override its values.', env: 'IOTD_PROFILE'}),
  threshold: Flags.string({summary: "SLO in k6's grammar, failing the run with exit 99: 'p(99)<20ms', 'loss<0.001', 'rate>=9900/s' (repeat).", multiple: true, env: 'IOTD_THRESHOLD'}),
  out: Flags.string({
    char: 'o',
    summary: 'Save the result (JSON, with encoded histograms) for iotd report; influxdb=URL writes the per-second figures to InfluxDB while it runs (repeatable).',
    multiple: true,
    env: 'IOTD_OUT',
  }),
  hgrm: Flags.string({summary: "Write the headline percentile distribution in HdrHistogram's text format.", env: 'IOTD_HGRM'}),
  timeline: Flags.string({summary: 'Write the per-second series as CSV.', env: 'IOTD_TIMELINE'}),
  shard: Flags.string({summary: 'Run shard i of n (1-based: --shard 2/3): every n-th client and its share of the rate.', env: 'IOTD_SHARD'}),
  shards: Flags.integer({summary: 'Shard count, the index coming from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).', min: 1, env: 'IOTD_SHARDS'}),
  'start-at': Flags.string({summary: 'Start the load at this instant (2026-12-06T21:30:00Z or Unix seconds): give every shard the same one.', env: 'IOTD_START_AT'}),
  'run-id': Flags.string({summary: 'Name of the run, shared by its shards so iotd report merge can tell them from other runs (default: from --start-at, else random).', env: 'IOTD_RUN_ID'}),
  drain: Flags.string({summary: 'How long subscribers may still receive after sending stops (default 2s).', env: 'IOTD_DRAIN'}),
  'broker-count': Flags.boolean({summary: "Read mosquitto's $SYS received count before and after, to cross-check the client's (default on).", allowNo: true, env: 'IOTD_BROKER_COUNT'}),
  quiet: Flags.boolean({summary: 'No live view or progress lines; only the summary.', env: 'IOTD_QUIET'}),
  ...metricsFlags,
}

type AnyFlags = Record<string, unknown>

/** The options the flags gave (undefined where a flag was not given, so a profile's value stands). */
export function optionsFromFlags(f: AnyFlags): BenchOptions {
  const s = (k: string) => f[k] as string | undefined
  const n = (k: string) => f[k] as number | undefined
  const b = (k: string) => (f[k] === undefined ? undefined : (f[k] as boolean))
  return {
    broker: s('broker'),
    username: s('username'),
    password: s('password'),
    ca: s('ca'),
    cert: s('cert'),
    key: s('key'),
    insecure: f.insecure === true ? true : undefined,
    mqttVersion: s('mqtt-version') as BenchOptions['mqttVersion'],
    qos: f.qos === undefined ? undefined : (Number(f.qos) as 0 | 1 | 2),
    retain: f.retain === true ? true : undefined,
    publishers: n('publishers'),
    subscribers: n('subscribers'),
    clients: n('clients'),
    topic: s('topic'),
    subscribeTopic: s('sub-topic'),
    size: s('size'),
    rate: s('rate'),
    stages: (f.stage as string[] | undefined)?.length ? (f.stage as string[]) : undefined,
    duration: s('duration'),
    warmup: s('warmup'),
    messages: n('messages'),
    inflight: n('inflight'),
    maxLag: s('max-lag'),
    thresholds: (f.threshold as string[] | undefined)?.length ? (f.threshold as string[]) : undefined,
    workers: n('workers'),
    sourceIp: s('source-ip'),
    keepalive: s('keepalive'),
    connectTimeout: s('connect-timeout'),
    concurrency: n('concurrency'),
    subscribe: s('subscribe'),
    drain: s('drain'),
    clientIdPrefix: s('client-id-prefix'),
    brokerCount: b('broker-count'),
  }
}

export abstract class BenchCommand extends BaseCommand {
  /** The mode this command runs; undefined (plain `iotd bench`) takes the profile's, or end-to-end. */
  protected abstract readonly mode: BenchMode | undefined

  protected async runBenchCommand(flags: AnyFlags): Promise<undefined> {
    const {loadBenchProfile, mergeOptions, toBenchRequest} = await import('../bench/bench-options.js')
    const profileFile = flags.profile as string | undefined
    const fromProfile = profileFile ? loadBenchProfile(profileFile) : {}
    const options = mergeOptions(fromProfile, optionsFromFlags(flags))
    if (this.mode) options.mode = this.mode
    const request = toBenchRequest(options, {
      commandLine: this.argv,
      toolVersion: this.config.version,
      profileFile,
      shard: parseShard(flags.shard as string | undefined, flags.shards as number | undefined),
      startAt: flags['start-at'] as string | undefined,
      runId: flags['run-id'] as string | undefined,
      defaultBrokerUrl: flags['default-broker'] as string | undefined,
    })
    const {chooseOutputMode} = await import('../report/terminal.js')
    const {createBenchReporter} = await import('../report/bench-reporter.js')
    const mode = chooseOutputMode({json: this.jsonEnabled(), quiet: flags.quiet === true, stdout: process.stdout, env: process.env})
    const reporter = await createBenchReporter(mode, {color: flags.color as boolean})
    const {runBench} = await import('../bench/run-bench.js')
    const outs = (flags.out as string[] | undefined) ?? []
    const influxTargets = outs.map(parseInfluxOut).filter((t) => t !== undefined)
    const resultFiles = outs.filter((o) => parseInfluxOut(o) === undefined)
    if (resultFiles.length > 1) throw new UsageError(`--out: one result file at a time (got ${resultFiles.join(', ')})`)
    const endpoint = await startLiveMetrics(flags as {metrics?: string; 'metrics-hold'?: string}, metricsNoteFor(mode, (m) => reporter.log(m)))
    const influx = await Promise.all(influxTargets.map((t) => startInfluxOutput(t, ['mode', 'run'], (m) => reporter.log(m, 'warn'))))
    const run = new Date().toISOString()
    const {benchFamilies} = await import('../report/prometheus-families.js')
    let last: BenchSnapshot | undefined
    let outcome
    try {
      outcome = await withInterrupt((signal) =>
        runBench({
          ...request,
          signal,
          onSnapshot: (s) => {
            last = s
            reporter.update(s)
            endpoint?.show(() => benchFamilies(s))
            for (const o of influx) o.write(benchPoints(run, s))
          },
          onLog: (line, level) => reporter.log(line, level),
        }),
      )
    } catch (error) {
      // Take the live view down before the error is printed, so the message is not left under a stale frame.
      await reporter.close()
      await endpoint?.close()
      await Promise.all(influx.map((o) => o.close()))
      throw error
    }
    await Promise.all(influx.map((o) => o.close()))
    const final = last
    if (final) endpoint?.show(() => benchFamilies(final, outcome.result))
    const {result} = outcome
    const written: string[] = []
    if (resultFiles.length > 0) {
      const {writeFileSync} = await import('node:fs')
      const {toJson} = await import('../bench/bench-result.js')
      writeFileSync(resultFiles[0], toJson(result))
      written.push(`result -> ${resultFiles[0]}`)
    }
    if (flags.hgrm) {
      const {writeHgrm} = await import('../report/hgrm.js')
      writeHgrm(flags.hgrm as string, result)
      written.push(`percentile distribution -> ${flags.hgrm as string}`)
    }
    if (flags.timeline) {
      const {writeTimelineCsv} = await import('../report/timeline-csv.js')
      writeTimelineCsv(flags.timeline as string, result)
      written.push(`timeline -> ${flags.timeline as string}`)
    }
    for (const line of written) reporter.log(line)
    await reporter.finish(result)
    await endpoint?.finish()
    // A shard's thresholds are judged on the merged result (iotd report merge): one shard's share says nothing about
    // the whole run, and a shard that failed its Job would keep the merge from running.
    if (request.shard && result.thresholds.some((v) => !v.ok)) reporter.log('shard: thresholds are judged on the merged result (iotd report merge); this shard exits 0 on them', 'info')
    // A run that did nothing it was asked (nothing sent, nothing received) never exits 0, as iotd sim's.
    const failure = outcome.didNothing
      ? new IotdError(outcome.didNothing, EXIT_CODES.runtime, [
          result.meta.mode !== 'sub' && result.counts.sent === 0
            ? 'the summary above and the lines before it say why nothing left (connection errors, drops)'
            : 'check that --topic and --sub-topic (or the publishers of a subscribe-only run) meet: the filter must match the published topics',
        ])
      : undefined
    return this.finishRun({error: outcome.error, interrupted: outcome.interrupted, failure, thresholdsFailed: !request.shard && result.thresholds.some((v) => !v.ok)})
  }
}
