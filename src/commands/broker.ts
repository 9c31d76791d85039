import {Flags} from '@oclif/core'
import {BaseCommand, EXIT_CODES_HELP} from '../cli/base-command.js'
import {EXIT_CODES, IotdError} from '../errors.js'

export default class Broker extends BaseCommand {
  static override summary = 'Run the embedded MQTT broker (aedes, MQTT 3.1.1) until Ctrl-C.'

  static override description = `Starts the same in-process broker iotd uses when no broker is given, on its own: for demos, offline laptops and tests. It speaks MQTT 3.1.1 only (no MQTT 5) and keeps no state on disk. The broker URL goes to stdout (so scripts can capture it), progress to stderr. With --port 0 the OS picks a free port; read it from the printed URL.

Ctrl-C or SIGTERM disconnects every client, frees the port and exits with 130 (interrupted), as every iotd command does.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Serve MQTT on 127.0.0.1:1883.', command: '<%= config.bin %> <%= command.id %>'},
    {description: 'Let the OS choose a free port, in the background; the URL is the first line of stdout.', command: '<%= config.bin %> <%= command.id %> --port 0 > broker.url &'},
    {description: 'Listen on every interface (other machines can connect).', command: '<%= config.bin %> <%= command.id %> --host 0.0.0.0 --port 1884'},
    {description: 'Print the address as JSON.', command: '<%= config.bin %> <%= command.id %> --port 0 --json'},
  ]

  static override flags = {
    host: Flags.string({summary: 'Address to listen on.', default: '127.0.0.1', env: 'IOTD_BROKER_HOST'}),
    port: Flags.integer({summary: 'TCP port to listen on (0 = any free port).', default: 1883, min: 0, max: 65535, env: 'IOTD_BROKER_PORT'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Broker)
    // Loaded here, not at the top: `iotd --help` and other commands must not pay for aedes and MQTT.js.
    const {startEmbeddedBroker} = await import('../net/embedded-broker.js')
    const broker = await startEmbeddedBroker({host: flags.host, port: flags.port}).catch((err: NodeJS.ErrnoException) => {
      const code = err.code ?? String(err)
      throw new IotdError(`cannot listen on ${flags.host}:${flags.port} (${code})`, EXIT_CODES.runtime, [
        code === 'EADDRINUSE' ? 'another broker may be running there; use --port 0 for any free port' : 'check --host',
      ])
    })
    // Listen for signals before printing the URL: a script that reads the URL and signals at once must not find the
    // process still on the default (die without cleanup) disposition.
    const stopped = new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    })
    const result = {schemaVersion: 1, url: broker.url, host: broker.host, port: broker.port}
    process.stdout.write(this.jsonEnabled() ? `${JSON.stringify(result)}\n` : `${broker.url}\n`)
    if (!this.jsonEnabled()) this.note(`embedded broker (aedes, MQTT 3.1.1) listening on ${broker.url} — Ctrl-C to stop`)
    // The embedded broker takes every client without a password: fine on loopback, an open broker anywhere else.
    // Said on stderr under --json too, where stdout carries the address.
    if (!isLoopbackHost(flags.host)) {
      this.note(
        `warning: listening on ${flags.host} without authentication: anyone who can reach port ${broker.port} of this machine can connect, publish and subscribe to every topic (--host 127.0.0.1 keeps it to this machine)`,
      )
    }
    const signal = await stopped
    const connected = broker.clients()
    await broker.close()
    if (!this.jsonEnabled()) this.note(`${signal}: broker stopped (${connected} client${connected === 1 ? '' : 's'} disconnected)`)
    this.exit(EXIT_CODES.interrupted)
  }
}

/** 127.0.0.0/8, ::1 and localhost: only this machine reaches them. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h)
}
