import {withInterrupt} from '../cli/interrupt.js'
import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../cli/base-command.js'
import {metricsFlags, startLiveMetrics} from '../cli/live-metrics.js'
import {mqttConnectionFlags, mqttSourceFromFlags} from '../cli/mqtt-flags.js'
import {parseDurationFlag, parseSizeFlag} from '../cli/flag-parsers.js'
import type {RecordSummary} from '../tools/record.js'
import {EXIT_CODES, IotdError} from '../errors.js'

export default class RecordCommand extends BaseCommand {
  static override summary = 'Capture MQTT topics to a CSV file that iotd replay plays back.'

  static override description = `Subscribes to the topic filters (default #) and writes every message to a capture file: RFC 4180 CSV with the header ts,topic,qos,retain,encoding,payload (and properties with --mqtt-version 5); ts in microseconds since the epoch; payloads as UTF-8 text when they are text, base64 otherwise. See docs/capture-format.md.

The file is written out and synced (fdatasync) every second, and within a few milliseconds when QoS 1 messages wait for their acknowledgement: a QoS 1 message is acknowledged to the broker only once its row is on disk (at least once). After a crash, a persistent session (--client-id with a fixed id and --no-clean) gets the unacknowledged messages again from the broker; QoS 0 messages received in the last second can be lost; QoS 2 ones are acknowledged by the client library when they arrive. With --mqtt-version 5 the subscription asks for retain-as-published, so the retain column says how each message was published. When the broker goes away the recording goes on: iotd reconnects with backoff (each attempt said on stderr) until it is stopped, and a persistent session gets what the broker kept meanwhile. A failed write (a full disk) ends the recording with exit 1 and the summary; the file is cut back to its last whole row. The summary accounts for every message received: recorded, left out by --where, or not recorded because it arrived after the stop (never acknowledged). --rotate-size and --rotate-every start new files (name.0001.csv, name.0002.csv, ...), each one replayable on its own.

A --duration that ends with no message received exits 1 ("nothing received in 1h"; the file holds its header only): the run recorded nothing it was asked to. Ctrl-C exits 130.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Record a plant for an hour', command: "<%= config.bin %> <%= command.id %> 'plant/#' --out plant.csv --duration 1h"},
    {description: 'Record everything, a new file every 100 MiB', command: "<%= config.bin %> <%= command.id %> '#' --out capture.csv --rotate-size 100MiB"},
    {description: 'At least once across a crash: QoS 1 and a persistent session', command: "<%= config.bin %> <%= command.id %> 'plant/#' --out plant.csv --qos 1 --client-id plant-recorder --no-clean"},
    {description: 'MQTT 5 with properties, QoS 1', command: "<%= config.bin %> <%= command.id %> 'devices/#' --out devices.csv --mqtt-version 5 --qos 1"},
    {description: 'Serve live Prometheus metrics while recording', command: "<%= config.bin %> <%= command.id %> 'plant/#' --out plant.csv --metrics 127.0.0.1:9465"},
  ]

  static override strict = false

  static override args = {
    filter: Args.string({description: "Topic filters (several allowed; default '#')."}),
  }

  static override flags = {
    out: Flags.string({char: 'o', summary: 'Capture file to write.', required: true, env: 'IOTD_OUT'}),
    ...mqttConnectionFlags,
    qos: Flags.integer({char: 'q', summary: 'Subscription QoS.', min: 0, max: 2, default: 0, env: 'IOTD_QOS'}),
    clean: Flags.boolean({summary: 'Clean session; --no-clean with a fixed --client-id keeps unacknowledged messages at the broker across a crash.', allowNo: true, default: true, env: 'IOTD_CLEAN'}),
    count: Flags.integer({char: 'C', summary: 'Stop after this many messages.', min: 1, env: 'IOTD_COUNT'}),
    duration: Flags.string({char: 'd', summary: 'Stop after this long, e.g. 30s, 1h.', env: 'IOTD_DURATION'}),
    where: Flags.string({char: 'w', summary: 'Record only messages matching this SQL condition.', env: 'IOTD_WHERE'}),
    'rotate-size': Flags.string({summary: 'Start a new file at this size (e.g. 100MiB).', env: 'IOTD_ROTATE_SIZE'}),
    'rotate-every': Flags.string({summary: 'Start a new file at this interval (e.g. 1h).', env: 'IOTD_ROTATE_EVERY'}),
    quiet: Flags.boolean({summary: 'No progress on stderr.', env: 'IOTD_QUIET'}),
    ...metricsFlags,
  }

  async run(): Promise<RecordSummary | undefined> {
    const {argv, flags} = await this.parse(RecordCommand)
    const topics = (argv as string[]).length > 0 ? (argv as string[]) : ['#']
    const durationMs = parseDurationFlag('duration', flags.duration)
    const rotateEvery = parseDurationFlag('rotate-every', flags['rotate-every'])
    const rotateSize = parseSizeFlag('rotate-size', flags['rotate-size'])
    const {chooseOutputMode} = await import('../report/terminal.js')
    const mode = chooseOutputMode({json: this.jsonEnabled(), quiet: flags.quiet, stdout: process.stderr, env: process.env})
    const status = (await import('../report/status-line.js')).statusLine()
    const {formatBytes, formatNumber} = await import('../metrics/format.js')
    const {runRecord} = await import('../tools/record.js')
    const {formatRecordSummary, nothingReceivedReason} = await import('../tools/summaries.js')
    const endpoint = await startLiveMetrics(flags, (m) => this.note(m))
    const {recordFamilies} = await import('../tools/prometheus.js')
    let lastLine = 0
    const summary = await withInterrupt((signal) =>
      runRecord({
        source: mqttSourceFromFlags(flags, topics),
        out: flags.out,
        where: flags.where,
        count: flags.count,
        durationMs,
        rotateSize,
        rotateEvery,
        signal,
        warn: (m) => this.note(m),
        onReady: (broker, filters) => mode !== 'quiet' && mode !== 'json' && this.note(`recording ${filters.join(' ')} from ${broker} -> ${flags.out}`),
        onProgress: (p) => {
          endpoint?.show(() => recordFamilies(p))
          const line = `recording: ${formatNumber(p.messages)} messages, ${formatBytes(p.bytes)} -> ${p.file ?? flags.out}`
          if (mode === 'interactive') status.show(line)
          else if (mode === 'plain' && p.elapsedMs - lastLine >= 5000) {
            lastLine = p.elapsedMs
            process.stderr.write(`${line}\n`)
          }
        },
      }),
    )
      .catch(async (error: unknown) => {
        await endpoint?.close()
        throw error
      })
      .finally(() => {
        if (mode === 'interactive') status.clear()
      })
    endpoint?.show(() => recordFamilies(summary))
    const kept = `the file holds the ${summary.recorded} messages recorded before it, each row whole`
    if (this.jsonEnabled()) {
      process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
    } else process.stdout.write(formatRecordSummary(summary))
    await endpoint?.finish()
    const nothing = nothingReceivedReason(summary)
    return this.finishRun({...summary, failure: nothing ? new IotdError(nothing.reason, EXIT_CODES.runtime, [nothing.hint]) : undefined}, kept)
  }
}
