import {statSync} from 'node:fs'
import {basename, extname} from 'node:path'
import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {metricsFlags, metricsNoteFor, startLiveMetrics} from '../../cli/live-metrics.js'
import {mqttCredentialFlags, mqttTlsFlags} from '../../cli/mqtt-flags.js'
import {checkCredentials} from '../../net/mqtt-endpoint.js'
import {redactUrl} from '../../net/redact-url.js'
import {parseInfluxOut, startInfluxOutput} from '../../cli/influx-output.js'
import {simPoints} from '../../report/influx-points.js'
import {parseDurationFlag, parseShard} from '../../cli/flag-parsers.js'
import {withInterrupt} from '../../cli/interrupt.js'
import {EXIT_CODES, formatProblem, IotdError, UsageError} from '../../errors.js'
import {loadScenario} from '../../sim/scenario/index.js'
import type {SimSummary} from '../../sim/types.js'
import type {BackfillSummary} from '../../sim/backfill.js'
import type {AnomalySelection, FleetSample, ModbusGroupSample, SparkplugGroupSample} from '../../sim/dry-run.js'

type SimResult = SimSummary | BackfillSummary | {schemaVersion: 1; seed: number; fleets: FleetSample[]; modbus: ModbusGroupSample[]; sparkplug: SparkplugGroupSample[]; anomalies: AnomalySelection[]}

export default class Sim extends BaseCommand {
  static override summary = 'Simulate a fleet of MQTT and Modbus TCP devices from a scenario file.'

  static override description = `Connects every device of the scenario (ramps, storms and reconnects as the scenario says) and publishes seeded, realistic telemetry. With no broker given, iotd uses the MQTT broker on 127.0.0.1:1883, or starts its embedded broker there, so you can watch with \`mosquitto_sub -v -t '#'\` from another terminal.

Modbus groups (the scenario's modbus: section) listen on 127.0.0.1 from port 5020 unless the scenario says otherwise; the addresses are printed at start. Read them with \`iotd modbus read 127.0.0.1:5020 --unit 1 --address 40001\`.

On a terminal a live view shows each fleet; piped or in CI, one plain line per second goes to stderr. A sparkplug: section is a row among the fleets and counts in the totals: its edge nodes' sessions are the connections, every message they publish (births, data, deaths) is published (docs/sparkplug.md). The summary goes to stdout (--json for a machine-readable one, with the effective seed). Ctrl-C stops cleanly and prints the partial summary.

--broker, --username, --password and the TLS flags (--ca, --cert, --key, --insecure) override the scenario's broker: section; certificates are verified unless --insecure.

--shard i/n (or --shards n in a Kubernetes Indexed Job) runs every n-th device, for one of n machines; \`iotd sim merge\` adds the shards' --json summaries up. In --json, \`shard.index\` counts from 0 as JOB_COMPLETION_INDEX does and bench's result does (--shard 2/3 is {"index": 1, "count": 3}); text always says the shard as --shard takes it (shard 2/3). A shard records its --threshold verdicts but exits 0 on them (it says so on stderr when one failed): they are judged by \`iotd sim merge\` on the whole fleet.

--backfill generates the same streams on a simulated clock, without a broker, into iotd's CSV capture format (ts,topic,qos,retain,encoding,payload, and properties when a fleet has MQTT 5 properties) or JSON lines. Its summary gives the seed; a range in which no message fell due exits 1. A fleet's behaviour module, commands and twin are not applied (no broker; the summary warns of each such fleet).

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Run the smart-factory scenario for 20 seconds on the embedded broker', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml --duration 20s'},
    {description: 'Against your own broker, with a fixed seed and a JSON summary', command: '<%= config.bin %> <%= command.id %> scenarios/cold-chain.yaml --broker mqtt://10.0.0.5:1883 --seed 7 --json > summary.json'},
    {description: 'Show what each fleet would publish, without connecting', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml --dry-run --samples 3'},
    {description: 'A plant over Modbus TCP (200 devices on 4 listeners) and MQTT from one file', command: '<%= config.bin %> <%= command.id %> scenarios/modbus-plant.yaml --duration 1m'},
    {description: 'Fail CI (exit 99) unless every device connected, nothing was lost and publish lag stayed low', command: "<%= config.bin %> <%= command.id %> scenarios/smart-building.yaml --duration 30s --threshold 'connected>=100%' --threshold 'delivered>=99.9%' --threshold 'errors==0' --threshold 'lag.p(99)<50ms'"},
    {description: 'Serve live Prometheus metrics while it runs, and the final figures for 15 s after', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml --duration 5m --metrics 127.0.0.1:9464 --metrics-hold 15s'},
    {description: 'Write the per-second figures to InfluxDB while it runs (k6-style output)', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml --duration 10m --out influxdb=http://127.0.0.1:8086/iotd'},
    {description: 'Generate a day of data as a CSV capture', command: '<%= config.bin %> <%= command.id %> scenarios/smart-factory.yaml --backfill 2026-01-01T00:00Z..2026-01-02T00:00Z --out day.csv'},
  ]

  static override args = {
    scenario: Args.string({description: 'Scenario file (YAML, version 1).', required: true}),
  }

  static override flags = {
    broker: Flags.string({char: 'b', summary: 'Broker URL (mqtt://, mqtts://, ws://, wss://); overrides the scenario.', env: 'IOTD_BROKER'}),
    'default-broker': Flags.string({
      summary: 'Where to look for a broker, or start the embedded one, when none is named (default mqtt://127.0.0.1:1883).',
      env: 'IOTD_DEFAULT_BROKER',
      hidden: true,
    }),
    ...mqttCredentialFlags,
    ...mqttTlsFlags,
    duration: Flags.string({char: 'd', summary: 'Run length, e.g. 30s, 5m; overrides the scenario.', env: 'IOTD_DURATION'}),
    limit: Flags.integer({summary: 'Stop after this many messages in total.', min: 1, env: 'IOTD_LIMIT'}),
    seed: Flags.integer({summary: 'Seed for every random stream; overrides the scenario.', env: 'IOTD_SEED'}),
    fleet: Flags.string({summary: 'Run only these fleets (repeat or comma-separate).', multiple: true, delimiter: ',', env: 'IOTD_FLEET'}),
    shard: Flags.string({summary: 'Run shard i of n (1-based: --shard 2/3): every n-th device of the scenario, for one of n machines.', env: 'IOTD_SHARD'}),
    shards: Flags.integer({summary: 'Shard count, the index coming from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).', min: 1, env: 'IOTD_SHARDS'}),
    workers: Flags.integer({summary: 'Worker threads for the fleet (default: from the fleet size and cores).', min: 1, env: 'IOTD_WORKERS'}),
    'source-ip': Flags.string({summary: 'Local source addresses to spread connections over: 127.0.0.2,127.0.0.3 or 127.0.0.2-127.0.0.9.', env: 'IOTD_SOURCE_IP'}),
    labels: Flags.string({summary: 'Write ground-truth anomaly labels (JSON lines) to this file (an existing one only with --force).', env: 'IOTD_LABELS'}),
    force: Flags.boolean({summary: 'Replace an existing labels file (an earlier run\'s ground truth).', env: 'IOTD_FORCE'}),
    'dry-run': Flags.boolean({summary: 'Print sample payloads per fleet (tag values per Modbus group) and exit, without connecting or listening.', env: 'IOTD_DRY_RUN'}),
    samples: Flags.integer({summary: 'Samples per fleet or Modbus group with --dry-run.', default: 5, min: 1, env: 'IOTD_SAMPLES'}),
    backfill: Flags.string({summary: 'Generate data on a simulated clock for <from>..<to> (ISO-8601 or epoch ms), without a broker.', env: 'IOTD_BACKFILL'}),
    out: Flags.string({char: 'o', summary: 'Output for --backfill (.csv = iotd capture format, .jsonl = JSON lines, - = CSV to stdout); in a live run, influxdb=URL writes the per-second figures to InfluxDB.', env: 'IOTD_OUT'}),
    quiet: Flags.boolean({char: 'q', summary: 'No live view or progress lines; only the summary.', env: 'IOTD_QUIET'}),
    threshold: Flags.string({
      summary: "SLO checked at the end, k6's grammar (repeatable): connected>=100%, delivered>=99.9%, errors==0, lag.p(99)<50ms, ack.p(99)<20ms, connect.p(95)<250ms, dropped==0, late==0. Any failure exits 99; a shard's are recorded and judged by iotd sim merge.",
      multiple: true,
      env: 'IOTD_THRESHOLD',
    }),
    ...metricsFlags,
  }

  async run(): Promise<SimResult | undefined> {
    const {args, flags} = await this.parse(Sim)
    if (flags['dry-run'] && flags.backfill !== undefined) {
      throw new UsageError('--dry-run and --backfill exclude each other: --dry-run prints samples without generating, --backfill generates the data', ['drop --dry-run to write the backfill, or --backfill to see samples'])
    }
    const file = args.scenario
    // A live run loads its behaviour modules as lint does (in a child process, 10 s at most), so one that cannot be
    // loaded is refused at the scenario's behavior key before any device connects; --dry-run and --backfill run none.
    // What loads but would not do what it says (an anomaly whose share: drew no device) is said before anything runs.
    const scenario = loadScenario(file, {loadBehaviors: !flags['dry-run'] && flags.backfill === undefined, seed: flags.seed, onWarning: (p) => process.stderr.write(`warning: ${formatProblem(p)}\n`)})
    const scenarioName = scenario.name ?? basename(file, extname(file))
    // Labels are ground truth for a data set: an earlier run's file is never replaced unless asked.
    const labelsFile = flags.labels ?? scenario.labels
    if (!flags['dry-run'] && labelsFile !== undefined && !flags.force) refuseToReplace(labelsFile)
    const shard = parseShard(flags.shard, flags.shards)

    if (flags['dry-run']) {
      const {anomalySelections, sampleFleets, sampleModbusGroups, sampleSparkplugGroups} = await import('../../sim/dry-run.js')
      const {refuseShardBesideFleets} = await import('../../sim/scenario/index.js')
      refuseShardBesideFleets(scenario, shard)
      const fleets = scenario.fleets.length === 0 ? [] : sampleFleets(scenario, flags.samples, {fleets: flags.fleet, shard})
      const modbus = sampleModbusGroups(scenario, flags.samples)
      const sparkplug = sampleSparkplugGroups(scenario, flags.samples)
      const anomalies = anomalySelections(scenario, {fleets: flags.fleet, shard})
      if (!this.jsonEnabled()) {
        const {formatDryRun} = await import('../../report/dry-run-text.js')
        process.stdout.write(formatDryRun(scenarioName, scenario.seed, fleets, modbus, sparkplug, anomalies, shard))
      }
      return {schemaVersion: 1, seed: scenario.seed, ...(shard && {shard}), fleets, modbus, sparkplug, anomalies}
    }

    if (flags.backfill !== undefined) {
      // A backfill has no run length and no live figures: taking these silently would let a CI gate pass unchecked.
      const ignored = ([['duration', '--duration: a backfill runs over its --backfill range'], ['threshold', '--threshold: a backfill measures no connections, lag or deliveries']] as const).find(([flag]) => flags[flag] !== undefined)
      if (ignored) throw new UsageError(`--backfill does not take ${ignored[1]}`, [`drop --${ignored[0]} (or IOTD_${ignored[0].toUpperCase()} from the environment)`])
      // A live run's connection and view flags do nothing here: said on stderr (set in the environment too, as
      // IOTD_BROKER often is, so a note rather than a refusal).
      const unused = (['broker', 'username', 'password', 'ca', 'cert', 'key', 'insecure', 'workers', 'source-ip', 'metrics', 'quiet'] as const).filter((f) => flags[f] !== undefined && flags[f] !== false)
      if (unused.length > 0) process.stderr.write(`note: a backfill connects to nothing and shows no live view: ${unused.map((f) => `--${f}`).join(', ')} ${unused.length === 1 ? 'is' : 'are'} not used\n`)
      const out = flags.out
      if (!out) throw new UsageError('--backfill needs --out <file.csv|file.jsonl|->')
      const {backfillFormatOf, parseTimeRange, runBackfill} = await import('../../sim/backfill.js')
      const format = backfillFormatOf(out)
      if (out === '-' && this.jsonEnabled()) throw new UsageError('--out - writes the data to stdout: --json would mix the summary into it', ['write the data to a file (--out data.csv) to get the JSON summary'])
      const {expandDevices, modbusDeviceCount, shardLimit} = await import('../../sim/scenario/index.js')
      let range
      try {
        range = parseTimeRange(flags.backfill)
      } catch (error) {
        throw new UsageError(`--backfill: ${(error as Error).message}`)
      }
      // A shard splits the Modbus devices too: one may hold Modbus devices only.
      const modbusDevices = flags.fleet === undefined ? modbusDeviceCount(scenario) : 0
      const summary = await withInterrupt((signal) => runBackfill({
        scenario,
        scenarioName,
        devices: expandDevices(scenario, {fleets: flags.fleet, shard, alsoSplit: modbusDevices}),
        fleets: flags.fleet,
        // --fleet names MQTT fleets: it leaves the Modbus groups out (the summary line says so). A shard splits both.
        modbus: flags.fleet === undefined,
        shard,
        ...range,
        out,
        format,
        labelsFile,
        limit: shardLimit(flags.limit ?? scenario.limit, shard),
        signal,
      }))
      // With --out - the data is stdout: the summary goes to stderr.
      const report = out === '-' ? process.stderr : process.stdout
      const {emptyBackfillReason, formatBackfillSummary} = await import('../../report/sim-summary.js')
      // Printed here in both modes, so a backfill that wrote nothing can still exit 1 after its summary.
      if (this.jsonEnabled()) report.write(`${JSON.stringify(summary, null, 2)}\n`)
      else {
        const modbusNote = summary.modbusDevices > 0 ? ` (${summary.modbusDevices} of them Modbus)` : scenario.modbus.length > 0 ? ' (Modbus groups left out by --fleet)' : ''
        report.write(`${summary.interrupted ? 'interrupted: ' : ''}${formatBackfillSummary(summary, modbusNote)}\n`)
      }
      return this.finishRun({
        interrupted: summary.interrupted,
        // A data set of no rows is not what was asked for: never exit 0 (as a live run that published nothing).
        failure: summary.rows === 0 ? new IotdError(emptyBackfillReason(summary), EXIT_CODES.runtime, summary.nothingDue ? ['widen the range (--backfill <from>..<to>) or shorten the devices\' every:'] : []) : undefined,
      })
    }

    const durationMs = parseDurationFlag('duration', flags.duration)
    // A run of no time connects nothing and would end in "no device ever connected" and a broker hint.
    if (durationMs !== undefined && durationMs <= 0) throw new UsageError(`--duration must be more than 0 (got ${flags.duration})`, ['--duration 30s, or leave it out to run for the scenario\'s duration (until Ctrl-C without one)'])
    const {parseSimThresholds} = await import('../../sim/sim-thresholds.js')
    const thresholds = parseSimThresholds(flags.threshold ?? [])
    const {chooseOutputMode, createSimReporter} = await import('../../report/index.js')
    const mode = chooseOutputMode({json: this.jsonEnabled(), quiet: flags.quiet, stdout: process.stdout, env: process.env})
    const reporter = await createSimReporter(mode, {color: flags.color, title: scenarioName})
    const {runSimulation} = await import('../../sim/run-simulation.js')
    checkCredentials(scenario.broker.protocol, flags.username ?? scenario.broker.username, flags.password ?? scenario.broker.password, flags.broker)
    const influxTarget = flags.out === undefined ? undefined : parseInfluxOut(flags.out)
    // Quoted redacted: a mistyped influxdb= value may carry credentials.
    if (flags.out !== undefined && !influxTarget) throw new UsageError(`--out ${redactUrl(flags.out)}: a file is written by --backfill only; a live run takes --out influxdb=URL`)
    const endpoint = await startLiveMetrics(flags, metricsNoteFor(mode, (m) => reporter.log(m)))
    const influx = influxTarget ? await startInfluxOutput(influxTarget, ['scenario', 'fleet', 'run'], (m) => reporter.log(m, 'warn')) : undefined
    const run = new Date().toISOString()
    const {simFamilies} = await import('../../report/prometheus-families.js')
    let summary: SimSummary
    try {
      summary = await withInterrupt((signal) => runSimulation({
        scenario,
        scenarioName,
        brokerUrl: flags.broker,
        defaultBrokerUrl: flags['default-broker'],
        username: flags.username,
        password: flags.password,
        ca: flags.ca,
        cert: flags.cert,
        key: flags.key,
        insecure: flags.insecure,
        durationMs,
        limit: flags.limit,
        workers: flags.workers,
        fleets: flags.fleet,
        shard,
        sourceIps: flags['source-ip'],
        labelsFile,
        thresholds,
        signal,
        onSnapshot: (s) => {
          reporter.update(s)
          endpoint?.show(() => simFamilies(scenarioName, s))
          influx?.write(simPoints(scenarioName, run, s))
        },
        onLog: (line, level) => reporter.log(line, level),
      }))
    } catch (error) {
      // Take the live view down before the error is printed, so the message is not left under a stale frame.
      await reporter.close()
      await endpoint?.close()
      await influx?.close()
      throw error
    }
    influx?.write(simPoints(scenarioName, run, summary))
    await influx?.close()
    endpoint?.show(() => simFamilies(scenarioName, summary))
    // The reporter prints the summary in every mode (JSON included, with secrets redacted), so nothing is returned
    // for oclif to print a second time.
    await reporter.finish(summary)
    await endpoint?.finish()
    // A shard's thresholds are judged on the merged summary (iotd sim merge): one shard's share says nothing about
    // the whole fleet, and a shard that failed its Job would keep the merge from running. A warning, not an info
    // line as in bench: a shard writes its summary with --json, which shows only warnings off a terminal.
    const thresholdsFailed = summary.thresholds?.some((v) => !v.ok) ?? false
    if (shard && thresholdsFailed) reporter.log('shard: thresholds are judged on the merged summary (iotd sim merge); this shard exits 0 on them', 'warn')
    const {didNothingReason} = await import('../../report/sim-summary.js')
    return this.finishRun({
      error: summary.error,
      interrupted: summary.interrupted,
      // A run in which no device ever connected, or none published what fell due, did nothing: never exit 0.
      failure: summary.neverConnected
        ? new IotdError(`no device ever connected to ${summary.broker}: the run published nothing`, EXIT_CODES.runtime, ['check the broker address, --source-ip, credentials and TLS flags; the first connect errors are printed above'])
        : summary.publishedNothing
          ? publishedNothing(summary, didNothingReason(summary))
          : undefined,
      thresholdsFailed: !shard && thresholdsFailed,
    })
  }
}

/** Devices that connected and published nothing: the reason (didNothingReason), and what to do about it. */
function publishedNothing(summary: SimSummary & {sparkplug?: unknown}, reason: string): IotdError {
  if (summary.devices === 0 && summary.sparkplug) {
    // Only Sparkplug edge nodes: the warnings above name each group's cause (most often a primary host never online).
    return new IotdError(reason, EXIT_CODES.runtime, [
      "publish the primary host's STATE online (spBv1.0/STATE/<host>), or remove primaryHost from the group if no host is meant to be waited for",
    ])
  }
  return new IotdError(reason, EXIT_CODES.runtime, ['the summary above says why the connections did not stay up (refused subscriptions, reboot commands, the broker closing them)'])
}

/** An earlier run's labels file (not empty) is refused: replacing it would lose the ground truth of that data. */
function refuseToReplace(path: string): void {
  let size = 0
  try {
    size = statSync(path).size
  } catch {
    return
  }
  if (size > 0) {
    throw new UsageError(`the labels file ${path} already holds labels (${size} bytes, from an earlier run)`, ['--force replaces it; --labels <other file> writes the new labels elsewhere'])
  }
}
