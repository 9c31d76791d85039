/**
 * `--metrics [host:]port` and `--metrics-hold <duration>` for every long-running command (sim, bench, record, replay,
 * pipeline run): GET /metrics serves the run's figures in the Prometheus text format while it runs (the listener is
 * net/text-endpoint.ts; loopback unless an address says otherwise, port 0 takes a free one). After the run the final
 * figures stay up for --metrics-hold, so a scraper that polls every 15 s still sees how the run ended.
 */
import {Flags} from '@oclif/core'
import type {OutputMode} from '../report/terminal.js'
import {parseDurationFlag} from './flag-parsers.js'

export const metricsFlags = {
  metrics: Flags.string({
    summary: 'Serve live Prometheus metrics at http://<address>/metrics while running (e.g. 9464 or 127.0.0.1:9464; loopback unless an address is given; 0 picks a free port, printed on stderr).',
    env: 'IOTD_METRICS',
  }),
  'metrics-hold': Flags.string({
    summary: 'After the run, keep serving the final figures this long (e.g. 15s) before exiting.',
    env: 'IOTD_METRICS_HOLD',
    dependsOn: ['metrics'],
  }),
}

export interface LiveMetrics {
  /** The address actually bound, with the path. */
  url: string
  /** What a scrape returns from now on (called per request). */
  show(render: () => string): void
  /** The run is over: keep serving the last figures for --metrics-hold, then close. */
  finish(): Promise<void>
  /** Close now (the run failed before it produced figures). */
  close(): Promise<void>
}

/**
 * The `note` for startLiveMetrics in a command whose lines go through a mode reporter (sim, bench). The address
 * reaches stderr in every mode: with --metrics 0 it is the only place the port the OS picked is told, and the help
 * promises it there. Through the reporter where it prints info lines (a live view keeps its frame whole); straight
 * to stderr under --quiet and --json, whose reporters mute info lines (stdout still carries only the product).
 */
export function metricsNoteFor(mode: OutputMode, log: (line: string) => void, stderr: {write(chunk: string): unknown} = process.stderr): (line: string) => void {
  return mode === 'interactive' || mode === 'plain' ? log : (line) => stderr.write(`${line}\n`)
}

/**
 * Starts the endpoint when --metrics is given; `note` prints where it listens and must reach stderr whatever the
 * output mode (metricsNoteFor for a command with a mode reporter).
 */
export async function startLiveMetrics(flags: {metrics?: string; 'metrics-hold'?: string}, note: (line: string) => void): Promise<LiveMetrics | undefined> {
  if (flags.metrics === undefined) return undefined
  const holdMs = parseDurationFlag('metrics-hold', flags['metrics-hold']) ?? 0
  const {serveText} = await import('../net/text-endpoint.js')
  let render: () => string = () => ''
  const endpoint = await serveText({address: flags.metrics, flag: '--metrics', path: '/metrics', contentType: 'text/plain; version=0.0.4; charset=utf-8', render: () => render()})
  note(`metrics: ${endpoint.url}`)
  return {
    url: endpoint.url,
    show(r) {
      render = r
    },
    async finish() {
      if (holdMs > 0) {
        note(`metrics: serving the final figures at ${endpoint.url} for ${flags['metrics-hold']}`)
        await new Promise((ok) => setTimeout(ok, holdMs))
      }
      await endpoint.close()
    },
    close: () => endpoint.close(),
  }
}
