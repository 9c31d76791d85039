import type {FleetCounters} from '../sim/types.js'
import {formatNumber} from '../metrics/format.js'

type CommandCounters = Pick<FleetCounters, 'commandsReceived' | 'commandsApplied' | 'commandsFailed' | 'commandsIgnored'>

/**
 * Commands received whose reaction still waits for its latency: received = applied + failed + ignored + waiting.
 * None are left in a run's totals (the stop counts them as failed); during the run, the progress lines and the live
 * view show them, so their figures add up at every moment.
 */
export function commandsWaiting(f: CommandCounters): number {
  return Math.max(0, f.commandsReceived - f.commandsApplied - f.commandsFailed - f.commandsIgnored)
}

/**
 * `1 reply not sent`, `3 replies not sent`; with `to`, a sentence: `1 reply to commands and twin updates was not
 * sent`. The summary's command line, the progress lines and the summary's verdict say it in these words.
 */
export function repliesNotSent(n: number, to?: string): string {
  const replies = `${formatNumber(n)} ${n === 1 ? 'reply' : 'replies'}`
  return to === undefined ? `${replies} not sent` : `${replies} to ${to} ${n === 1 ? 'was' : 'were'} not sent`
}
