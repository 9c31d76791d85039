import {Flags} from '@oclif/core'
import {EXIT_CODES_HELP} from '../../cli/base-command.js'
import {BenchCommand, benchConnectionFlags, benchOutputFlags} from '../../cli/bench-command.js'

export default class BenchSub extends BenchCommand {
  static override summary = 'Subscribe-only benchmark: measure the load another process sends (`iotd bench pub` elsewhere).'

  static override description = `Subscribers read the latency header of every message on the filter: latency from the intended and the actual send time, and lost (holes in each publisher's sequence), duplicated and reordered messages. Sequences count from the first message seen of each publisher, since the stream may already be running.

Across machines the latency is wall-clock arithmetic between two hosts: it is only as good as their clock sync (NTP, PTP). See docs/bench.md.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Listen for 60 s to what `iotd bench pub` sends from another host', command: "<%= config.bin %> <%= command.id %> -b mqtt://broker:1883 -t 'bench/#' -d 60s"},
  ]

  static override flags = {
    subscribers: Flags.integer({summary: 'Subscribing connections (default 1).', min: 1, env: 'IOTD_SUBSCRIBERS'}),
    topic: Flags.string({char: 't', summary: 'Subscription filter (default bench/#).', env: 'IOTD_TOPIC'}),
    duration: Flags.string({char: 'd', summary: 'How long to listen (default 10s).', env: 'IOTD_DURATION'}),
    ...benchConnectionFlags,
    ...benchOutputFlags,
  }

  protected readonly mode = 'sub' as const

  async run(): Promise<undefined> {
    const {flags} = await this.parse(BenchSub)
    // Listening has no schedule of its own: the duration is the whole plan.
    return this.runBenchCommand({...flags, rate: 'max'})
  }
}
