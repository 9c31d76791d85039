import {Flags} from '@oclif/core'
import {EXIT_CODES_HELP} from '../../cli/base-command.js'
import {BenchCommand, benchConnectionFlags, benchOutputFlags} from '../../cli/bench-command.js'

export default class BenchConn extends BenchCommand {
  static override summary = 'Connection benchmark: connection rate and the connect (and subscribe) time distribution.'

  static override description = `Opens --clients connections at a target connection rate (--rate 500/s; without it, as fast as --concurrency attempts at a time allow) and records each one's TCP (+TLS) + CONNACK time, and the SUBACK with --subscribe. The connections are held for --duration once all are up, then closed.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: '5,000 connections at 1,000/s, p99 connect time under 50 ms', command: "<%= config.bin %> <%= command.id %> --clients 5000 --rate 1000/s --threshold 'connect.p(99)<50ms'"},
    {description: 'Connect and subscribe 2,000 clients, hold them for a minute', command: "<%= config.bin %> <%= command.id %> --clients 2000 --subscribe 'devices/+/cmd' -d 60s"},
  ]

  static override flags = {
    clients: Flags.integer({char: 'c', summary: 'Connections to open (default 1000).', min: 1, env: 'IOTD_CLIENTS'}),
    rate: Flags.string({char: 'r', summary: 'Connection rate, e.g. 500/s (default: as fast as --concurrency allows).', env: 'IOTD_RATE'}),
    concurrency: Flags.integer({summary: 'Connection attempts in flight at once without --rate (default 100).', min: 1, env: 'IOTD_CONCURRENCY'}),
    subscribe: Flags.string({summary: 'Subscribe each connection to this filter (the SUBACK counts in the connect time).', env: 'IOTD_SUBSCRIBE'}),
    duration: Flags.string({char: 'd', summary: 'Hold the connections this long once all are up (default 0s).', env: 'IOTD_DURATION'}),
    ...benchConnectionFlags,
    ...benchOutputFlags,
  }

  protected readonly mode = 'conn' as const

  async run(): Promise<undefined> {
    const {flags} = await this.parse(BenchConn)
    return this.runBenchCommand(flags)
  }
}
