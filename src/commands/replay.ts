import {withInterrupt} from '../cli/interrupt.js'
import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../cli/base-command.js'
import {metricsFlags, startLiveMetrics} from '../cli/live-metrics.js'
import {parseRateFlag} from '../cli/flag-parsers.js'
import {mqttConnectionFlags, mqttEndpointFromFlags} from '../cli/mqtt-flags.js'
import {UsageError} from '../errors.js'
import {loopFlag, speedFlag, timeBoundFlag} from '../tools/flag-values.js'

export default class Replay extends BaseCommand {
  static override summary = 'Replay a CSV capture (or any CSV, by column mapping) to an MQTT broker with its original timing.'

  static override description = `Publishes every row of the file to --broker at its recorded time relative to the first row, scheduled on a monotonic clock so nothing drifts over hours; --speed 10 plays ten times faster, --rate 5000/s ignores the recorded timing, --max-speed sends as fast as the broker takes them. The file is streamed: a multi-GB capture replays in constant memory.

iotd's capture format (ts,topic,qos,retain,encoding,payload[,properties]; docs/capture-format.md) is recognised by its header. Any other CSV replays through a column mapping: --time-column and --time-format, a --topic template with {column} parts, and --payload-columns (a JSON object) or --payload-column (the text as is). The delimiter is detected from the first line.

A pipeline's dead-letter file (JSON lines with stage and reason, from \`deadLetter:\` of a pipeline file) is recognised by its first line and replays the messages it kept: each payload byte for byte (text as written, binary from base64) to its original topic, with its QoS and retain flag; entries without a topic (rows a database refused) are counted as bad rows.

If the broker connection is lost mid-replay (the broker restarts, the network drops), the replay reconnects with backoff (--reconnect-attempts, each attempt announced on stderr) and goes on where it was: messages not yet acknowledged (QoS 1/2) or not yet written when the connection went are written again first, so none is lost and a subscriber may see some twice (at-least-once); they are counted once in published and shown as written again. Messages due while the broker was away go out when it is back, late, and that lateness is in the timing error. If it gives up, the summary covers the replay until then (what was not published is 'not sent') and it exits 1.

Bad rows (wrong column count, bad timestamps, invalid base64, broken quotes) are counted and listed with their row numbers in the summary; --strict stops at the first; a file whose last row has no line end (cut short) has that row refused, and a replay that published nothing exits 1. Rows earlier than a row before them are sent at once and counted as out of order. On a terminal a progress bar with an ETA (by bytes read) runs on stderr; the summary (rows, published, skipped by reason, timing error p50/p99/max) goes to stdout, --json for a machine-readable one.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Replay a capture at its original pace', command: '<%= config.bin %> <%= command.id %> capture.csv --broker mqtt://127.0.0.1:1883'},
    {description: 'Ten times faster, under a test prefix, three times over', command: '<%= config.bin %> <%= command.id %> capture.csv --speed 10 --topic-prefix test/ --loop 3'},
    {description: 'A data-logger file', command: "<%= config.bin %> <%= command.id %> logger.csv --time-column time --time-format 'YYYY-MM-DD HH:mm:ss' --topic 'plant/{device}/env' --payload-columns temp,humidity"},
    {description: "An mqtt-recorder file (topic,payload,qos,retain,time,time since the previous row; no header)", command: "<%= config.bin %> <%= command.id %> recording.csv --no-header --columns topic,payload,qos,retain,time,delta --topic '{topic}' --payload-column payload --qos-column qos --retain-column retain --time-column delta --time-format relative-s"},
    {description: "Send a pipeline's dead letters back once the cause is fixed", command: '<%= config.bin %> <%= command.id %> dead-letter.jsonl --max-speed --broker mqtt://127.0.0.1:1883'},
    {description: 'As fast as possible, JSON summary', command: '<%= config.bin %> <%= command.id %> big.csv --max-speed --json > replay.json'},
    {description: 'Serve live Prometheus metrics, and the final figures for 15 s after the replay', command: '<%= config.bin %> <%= command.id %> capture.csv --speed 10 --metrics 127.0.0.1:9466 --metrics-hold 15s'},
  ]

  static override args = {
    file: Args.string({description: 'CSV file to replay (- for stdin).', required: true}),
  }

  static override flags = {
    ...mqttConnectionFlags,
    speed: Flags.string({char: 's', summary: 'Timing factor: 10 plays ten times faster, 0.5 at half speed.', env: 'IOTD_SPEED'}),
    rate: Flags.string({summary: 'Ignore the recorded timing; publish at this rate (e.g. 5000/s).', env: 'IOTD_RATE'}),
    'max-speed': Flags.boolean({summary: 'Ignore the recorded timing; publish as fast as possible.', env: 'IOTD_MAX_SPEED'}),
    loop: Flags.string({summary: 'Passes over the file: a number or forever.', env: 'IOTD_LOOP'}),
    start: Flags.string({summary: 'Only rows from this time: ISO-8601, epoch ms, or +10m from the first row.', env: 'IOTD_START'}),
    end: Flags.string({summary: 'Only rows before this time (same forms as --start).', env: 'IOTD_END'}),
    'topic-prefix': Flags.string({summary: 'Put this in front of every topic (e.g. replay/).', env: 'IOTD_TOPIC_PREFIX'}),
    'topic-map': Flags.string({summary: 'Rename topics: from=to (the topic and everything below it); repeatable.', multiple: true, env: 'IOTD_TOPIC_MAP'}),
    qos: Flags.integer({char: 'q', summary: 'Publish every message with this QoS (default: as recorded).', min: 0, max: 2, env: 'IOTD_QOS'}),
    retain: Flags.boolean({summary: 'Set (--retain) or clear (--no-retain) the retain flag on every message (default: as recorded).', allowNo: true, env: 'IOTD_RETAIN'}),
    'csv-format': Flags.string({summary: 'What the file is: auto (capture when the header says so), capture or mapped.', options: ['auto', 'capture', 'mapped'], default: 'auto', env: 'IOTD_CSV_FORMAT'}),
    delimiter: Flags.string({summary: 'Field delimiter (detected from the first line when absent).', env: 'IOTD_DELIMITER'}),
    header: Flags.boolean({summary: 'The first row names the columns (--no-header when it does not).', allowNo: true, default: true, env: 'IOTD_HEADER'}),
    columns: Flags.string({summary: 'Column names for a file without a header: time,device,temp.', env: 'IOTD_COLUMNS'}),
    'time-column': Flags.string({summary: 'Mapped CSV: the column holding the time.', env: 'IOTD_TIME_COLUMN'}),
    'time-format': Flags.string({summary: "Mapped CSV: auto, iso, epoch-s, epoch-ms, epoch-us, a pattern like 'YYYY-MM-DD HH:mm:ss' (UTC), or relative-s/relative-ms (time since the previous row).", env: 'IOTD_TIME_FORMAT'}),
    topic: Flags.string({char: 't', summary: "Mapped CSV: topic template, e.g. 'plant/{device}/env'.", env: 'IOTD_TOPIC'}),
    'payload-columns': Flags.string({summary: 'Mapped CSV: columns that make the JSON payload (default: all but time and topic columns).', env: 'IOTD_PAYLOAD_COLUMNS'}),
    'payload-column': Flags.string({summary: 'Mapped CSV: one column whose text is the payload.', env: 'IOTD_PAYLOAD_COLUMN'}),
    'qos-column': Flags.string({summary: "Mapped CSV: the column holding each row's QoS (0, 1, 2); --qos overrides it.", env: 'IOTD_QOS_COLUMN'}),
    'retain-column': Flags.string({summary: "Mapped CSV: the column holding each row's retain flag (1/0, true/false); --retain/--no-retain override it.", env: 'IOTD_RETAIN_COLUMN'}),
    strict: Flags.boolean({summary: 'Stop at the first bad row.', env: 'IOTD_STRICT'}),
    'reconnect-attempts': Flags.integer({summary: 'Connection attempts, with backoff, after the broker connection is lost mid-replay (0: stop at the first loss).', min: 0, default: 10, env: 'IOTD_RECONNECT_ATTEMPTS'}),
    quiet: Flags.boolean({summary: 'No progress bar.', env: 'IOTD_QUIET'}),
    ...metricsFlags,
  }

  async run(): Promise<unknown> {
    const {args, flags} = await this.parse(Replay)
    const modes = [flags.rate !== undefined, flags['max-speed'], flags.speed !== undefined].filter(Boolean).length
    if (modes > 1) throw new UsageError('--speed, --rate and --max-speed exclude each other: pick one')
    const rate = parseRateFlag('rate', flags.rate)
    const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean)
    const {parseTopicMapping} = await import('../tools/replay.js')
    const topicMap = (flags['topic-map'] ?? []).map((m) => {
      try {
        return parseTopicMapping(m)
      } catch (error) {
        throw new UsageError(`--topic-map: ${(error as Error).message}`)
      }
    })
    const {chooseOutputMode} = await import('../report/terminal.js')
    const mode = chooseOutputMode({json: this.jsonEnabled(), quiet: flags.quiet, stdout: process.stderr, env: process.env})
    const status = (await import('../report/status-line.js')).statusLine()
    const {formatReplayProgress, formatReplaySummary} = await import('../tools/summaries.js')
    const {runReplay} = await import('../tools/replay.js')
    const endpoint = await startLiveMetrics(flags, (m) => this.note(m))
    const {replayFamilies} = await import('../tools/prometheus.js')
    const summary = await withInterrupt((signal) =>
      runReplay({
        file: args.file,
        csv: {
          format: flags['csv-format'] as 'auto',
          delimiter: flags.delimiter,
          header: flags.header,
          columns: list(flags.columns),
          timeColumn: flags['time-column'],
          timeFormat: flags['time-format'],
          topic: flags.topic,
          payloadColumns: list(flags['payload-columns']),
          payloadColumn: flags['payload-column'],
          qosColumn: flags['qos-column'],
          retainColumn: flags['retain-column'],
          strict: flags.strict,
        },
        broker: mqttEndpointFromFlags(flags),
        speed: speedFlag(flags.speed),
        rate,
        maxSpeed: flags['max-speed'],
        loops: loopFlag(flags.loop),
        start: timeBoundFlag('start', flags.start),
        end: timeBoundFlag('end', flags.end),
        topicPrefix: flags['topic-prefix'],
        topicMap,
        qos: flags.qos as 0 | 1 | 2 | undefined,
        retain: flags.retain,
        reconnectAttempts: flags['reconnect-attempts'],
        signal,
        warn: (m) => this.note(m),
        onProgress:
          mode === 'interactive' || endpoint
            ? (p) => {
                endpoint?.show(() => replayFamilies(p))
                if (mode === 'interactive') status.show(formatReplayProgress(p, process.stderr.columns ?? 80))
              }
            : undefined,
      }),
    )
      .catch(async (error: unknown) => {
        await endpoint?.close()
        throw error
      })
      .finally(() => {
        if (mode === 'interactive') status.clear()
      })
    endpoint?.show(() => replayFamilies(summary))
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
    else process.stdout.write(formatReplaySummary(summary))
    await endpoint?.finish()
    if (summary.interrupted) return this.finishRun({interrupted: true})
    if (summary.error) return this.finishRun({error: summary.error})
    // A replay that published nothing did none of what it was asked, whatever the reason: never exit 0.
    const nothing = summary.rows === 0 ? `nothing to replay: ${args.file} has no rows` : `nothing was replayed: all ${summary.rows} rows of ${args.file} were skipped (see the reasons above)`
    return this.finishRun({error: summary.published === 0 ? nothing : undefined}, '')
  }
}
