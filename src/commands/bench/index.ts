import {Flags} from '@oclif/core'
import {EXIT_CODES_HELP} from '../../cli/base-command.js'
import {BenchCommand, benchConnectionFlags, benchLoadFlags, benchOutputFlags} from '../../cli/bench-command.js'

export default class Bench extends BenchCommand {
  static override summary = 'Benchmark an MQTT broker end to end: publishers and subscribers, latency of every message.'

  static override description = `Publishers send at a target rate (the open model: nothing waits for the broker; a message that cannot leave on time is counted as dropped, never silently skipped) or as fast as an in-flight window allows (--rate max). Every payload carries a 32-byte header with its intended send time and sequence number, so the subscribers measure latency from when each message should have left (corrected for coordinated omission, as wrk2 does), next to the uncorrected figure from when it did leave, and count lost, duplicated and reordered messages.

On a terminal a live dashboard shows target vs achieved rate, the latency spectrum and a percentile plot; piped or in CI, one line per second on stderr. The summary goes to stdout: verdicts first, then throughput, latency, delivery, the broker's own count ($SYS, mosquitto) and the client's health. --json prints the versioned result; --out saves it for \`iotd report\`.

Modes: \`iotd bench\` (end to end), \`iotd bench pub\` (publish-only, ack latency at QoS 1/2), \`iotd bench sub\` (subscribe to someone else's load), \`iotd bench conn\` (connection rate and connect time). See docs/bench.md for the method.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: '10 publishers and 1 subscriber at 10,000 msg/s for 10 s (the defaults)', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'A CI gate: 30 s at 20,000 msg/s, QoS 1, failing (exit 99) when p99 or loss miss their SLO', command: "<%= config.bin %> <%= command.id %> -b mqtt://broker:1883 -q 1 -r 20000/s -d 30s --warmup 5s --threshold 'p(99)<20ms' --threshold 'loss<0.001' -o result.json"},
    {description: 'Ramp from 0 to 50,000 msg/s over 30 s, hold for a minute', command: '<%= config.bin %> <%= command.id %> --stage 30s:50000/s --stage 60s:50000/s'},
    {description: 'Saturation with 100 messages in flight per publisher', command: '<%= config.bin %> <%= command.id %> --rate max --inflight 100 -q 1 -d 20s'},
    {description: 'The load test kept in the repository', command: '<%= config.bin %> <%= command.id %> --profile scenarios/bench/ci-smoke.yaml'},
    {description: 'Live Prometheus metrics and per-second points in InfluxDB while it runs (k6-style outputs)', command: '<%= config.bin %> <%= command.id %> -r 20000/s -d 5m --metrics 127.0.0.1:9464 --out influxdb=http://127.0.0.1:8086/iotd'},
  ]

  static override flags = {
    publishers: Flags.integer({char: 'c', summary: 'Publishing connections in the whole run (default 10).', min: 1, env: 'IOTD_PUBLISHERS'}),
    subscribers: Flags.integer({summary: 'Subscribing connections, each receiving every message (default 1).', min: 0, env: 'IOTD_SUBSCRIBERS'}),
    'sub-topic': Flags.string({summary: 'Subscription filter (default: the topic with each %-placeholder level as +).', env: 'IOTD_SUB_TOPIC'}),
    ...benchConnectionFlags,
    ...benchLoadFlags,
    ...benchOutputFlags,
  }

  protected readonly mode = undefined

  async run(): Promise<undefined> {
    const {flags} = await this.parse(Bench)
    return this.runBenchCommand(flags)
  }
}
