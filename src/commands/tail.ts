import {withInterrupt} from '../cli/interrupt.js'
import {Args, Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../cli/base-command.js'
import {mqttConnectionFlags, mqttSourceFromFlags} from '../cli/mqtt-flags.js'
import {parseDurationFlag, parseSizeFlag} from '../cli/flag-parsers.js'
import {EXIT_CODES, IotdError, UsageError} from '../errors.js'

export default class Tail extends BaseCommand {
  static override summary = 'Watch MQTT topics: readable on a terminal, NDJSON/CSV/raw for scripts.'

  static override description = `Subscribes to the topic filters (default #) and prints every message. On a terminal: time, topic in a colour of its own, R for retained and q1/q2 for QoS, JSON on one line (--json-style auto or pretty indents it), binary payloads as hex or base64, MQTT 5 properties on a second line. When more arrives than anyone can read, the text view shows up to --max-lines lines a second and says how many messages it skipped; --format ndjson, csv and raw keep every message and never print escape codes.

--where filters with the pipeline's SQL expressions (bare topic, qos and retain mean the message's own); --fields picks payload fields. --stats shows a live table per topic instead of the messages. --record also writes every matching message to a capture file (docs/capture-format.md).

Sparkplug B (topics under spBv1.0/) is decoded as a host application reads it: metric names from the births' aliases, typed values, units; in ndjson the payload is the decoded message (type, group, node, device, seq, bdSeq, metrics). Every Sparkplug message also goes through a host's checks (seq gaps, data before birth, stale bdSeq, unknown aliases), shown under the message and counted in --stats (docs/sparkplug.md). csv, raw and --record keep the payload bytes.

When the broker goes away, tail reconnects with backoff (each attempt said on stderr) and goes on until stopped.

With no --broker, iotd connects to mqtt://127.0.0.1:1883.

A --duration that ends with no message received exits 1 ("nothing received in 10s"): the run saw nothing it was asked to show. Ctrl-C exits 130.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Everything, readable', command: "<%= config.bin %> <%= command.id %> '#'"},
    {description: 'Hot readings on one plant, as NDJSON for jq', command: "<%= config.bin %> <%= command.id %> 'acme/#' --where \"temp > 30 AND topic LIKE 'acme/%'\" --format ndjson | jq .payload.temp"},
    {description: 'A live table of topics, their rates and sizes', command: "<%= config.bin %> <%= command.id %> 'plant/#' --stats"},
    {description: 'A Sparkplug B plant, decoded, with the host checks counted', command: "<%= config.bin %> <%= command.id %> 'spBv1.0/#' --stats"},
    {description: 'One device\'s Sparkplug metrics as NDJSON', command: "<%= config.bin %> <%= command.id %> 'spBv1.0/plant1/DDATA/edge-00/#' --format ndjson | jq -c '.payload.metrics'"},
    {description: 'MQTT 5 with user properties, 100 messages, then exit', command: "<%= config.bin %> <%= command.id %> 'devices/+/events' --mqtt-version 5 --count 100"},
  ]

  static override enableJsonFlag = false
  static override strict = false

  static override args = {
    filter: Args.string({description: "Topic filters (several allowed; default '#'); $share/<group>/<filter> for a shared subscription."}),
  }

  static override flags = {
    ...mqttConnectionFlags,
    qos: Flags.integer({char: 'q', summary: 'Subscription QoS.', min: 0, max: 2, default: 0, env: 'IOTD_QOS'}),
    count: Flags.integer({char: 'C', summary: 'Exit after this many (matching) messages.', min: 1, env: 'IOTD_COUNT'}),
    duration: Flags.string({char: 'd', summary: 'Exit after this long, e.g. 30s, 5m.', env: 'IOTD_DURATION'}),
    retained: Flags.boolean({summary: 'Show retained messages (--no-retained hides them).', allowNo: true, default: true, env: 'IOTD_RETAINED'}),
    'retained-only': Flags.boolean({summary: 'Show only retained messages.', env: 'IOTD_RETAINED_ONLY'}),
    format: Flags.string({char: 'f', summary: 'Output: text for people, ndjson, csv (capture format) or raw payloads.', options: ['text', 'ndjson', 'csv', 'raw'], default: 'text', env: 'IOTD_FORMAT'}),
    where: Flags.string({char: 'w', summary: "SQL condition, e.g. \"temp > 30 AND topic LIKE 'acme/%'\".", env: 'IOTD_WHERE'}),
    fields: Flags.string({summary: 'Payload fields to show, e.g. temp,meta.site.', env: 'IOTD_FIELDS'}),
    stats: Flags.boolean({summary: 'A live table per topic (messages, rate, last seen, size) instead of the messages.', env: 'IOTD_STATS'}),
    'json-style': Flags.string({summary: 'JSON payloads in text output: compact (one line per message), auto (indented when it does not fit the width) or pretty.', options: ['auto', 'pretty', 'compact'], default: 'compact', env: 'IOTD_JSON_STYLE'}),
    binary: Flags.string({summary: 'Binary payloads in text output.', options: ['hex', 'base64'], default: 'hex', env: 'IOTD_BINARY'}),
    'max-lines': Flags.integer({summary: 'Text view on a terminal: at most this many lines a second, the messages that do not fit counted as skipped.', min: 1, default: 1000, env: 'IOTD_MAX_LINES'}),
    record: Flags.string({summary: 'Also write the matching messages to this capture file.', env: 'IOTD_RECORD'}),
    'rotate-size': Flags.string({summary: 'With --record: start a new file at this size (e.g. 100MiB).', env: 'IOTD_ROTATE_SIZE'}),
    'rotate-every': Flags.string({summary: 'With --record: start a new file at this interval (e.g. 1h).', env: 'IOTD_ROTATE_EVERY'}),
  }

  async run(): Promise<void> {
    const {argv, flags} = await this.parse(Tail)
    const topics = (argv as string[]).length > 0 ? (argv as string[]) : ['#']
    if (flags['retained-only'] && !flags.retained) throw new UsageError('--retained-only and --no-retained exclude each other')
    const durationMs = parseDurationFlag('duration', flags.duration)
    const {chooseOutputMode, colorEnabledFor} = await import('../report/terminal.js')
    const interactive = chooseOutputMode({json: false, stdout: process.stdout, env: process.env}) === 'interactive'
    const {runTail} = await import('../tools/tail.js')
    const {formatTailSummary, nothingReceivedReason} = await import('../tools/summaries.js')
    // A closed pipe (| head) ends the tail quietly, as it does for any Unix filter.
    const pipeClosed = new AbortController()
    process.stdout.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' ? pipeClosed.abort() : undefined))
    const summary = await withInterrupt((interrupted) =>
      runTail({
        source: {...mqttSourceFromFlags(flags, topics), retained: flags['retained-only'] ? 'only' : flags.retained ? 'include' : 'exclude'},
        format: flags.format as 'text',
        where: flags.where,
        fields: flags.fields?.split(',').map((s) => s.trim()).filter(Boolean),
        count: flags.count,
        durationMs,
        stats: flags.stats,
        record: flags.record ? {path: flags.record, rotateSize: parseSizeFlag('rotate-size', flags['rotate-size']), rotateEvery: parseDurationFlag('rotate-every', flags['rotate-every'])} : undefined,
        out: process.stdout,
        interactive,
        color: flags.format === 'text' && colorEnabledFor(process.stdout, flags.color),
        json: flags['json-style'] as 'auto',
        binary: flags.binary as 'hex',
        maxLinesPerSecond: flags['max-lines'],
        signal: AbortSignal.any([interrupted, pipeClosed.signal]),
        warn: (m) => this.note(m),
        onReady: (broker, filters) => this.note(`subscribed to ${filters.join(' ')} on ${broker}`),
      }),
    )
    if (pipeClosed.signal.aborted) return
    if (summary.interrupted || summary.skipped > 0) process.stderr.write(formatTailSummary(summary))
    const nothing = nothingReceivedReason(summary)
    this.finishRun({...summary, failure: nothing ? new IotdError(nothing.reason, EXIT_CODES.runtime, [nothing.hint]) : undefined})
  }
}
