import {Flags} from '@oclif/core'
import {EXIT_CODES_HELP} from '../../cli/base-command.js'
import {BenchCommand, benchConnectionFlags, benchLoadFlags, benchOutputFlags} from '../../cli/bench-command.js'

export default class BenchPub extends BenchCommand {
  static override summary = 'Publish-only benchmark: the load side alone, with publish -> PUBACK/PUBCOMP latency at QoS 1/2.'

  static override description = `Publishers only, at a target rate or saturated (--rate max). Receivers elsewhere (\`iotd bench sub\` on another machine, or the system under test) read the latency header of every payload. At QoS 1/2 the acknowledgement latency is measured from each message's intended send time.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: '400,000 msg/s of 100-byte QoS 0 messages from 10 connections', command: '<%= config.bin %> <%= command.id %> -r 400000/s -d 30s'},
    {description: 'QoS 1 saturation with 1,024 messages in flight per connection', command: '<%= config.bin %> <%= command.id %> -q 1 --rate max --inflight 1024 -d 20s'},
  ]

  static override flags = {
    publishers: Flags.integer({char: 'c', summary: 'Publishing connections in the whole run (default 10).', min: 1, env: 'IOTD_PUBLISHERS'}),
    ...benchConnectionFlags,
    ...benchLoadFlags,
    ...benchOutputFlags,
  }

  protected readonly mode = 'pub' as const

  async run(): Promise<undefined> {
    const {flags} = await this.parse(BenchPub)
    return this.runBenchCommand(flags)
  }
}
