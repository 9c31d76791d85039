import type {FleetCounters} from '../sim/types.js'
import {formatNumber} from '../metrics/format.js'

type CommandCounters = Pick<FleetCounters, 'commandsReceived' | 'commandsApplied' | 'commandsFailed' | 'commandsIgnored' | 'commandsNotTaken'>
type ReplyCounters = CommandCounters & Pick<FleetCounters, 'commandsReplied' | 'commandsReplyLost'>

/**
 * Commands received whose reaction still waits for its latency: received = applied + failed + ignored + not taken +
 * waiting.
 * None are left in a run's totals (the stop counts them as failed); during the run, the progress lines and the live
 * view show them, so their figures add up at every moment.
 */
export function commandsWaiting(f: CommandCounters): number {
  return Math.max(0, f.commandsReceived - f.commandsApplied - f.commandsFailed - f.commandsIgnored - (f.commandsNotTaken ?? 0))
}

/**
 * `1 reply not sent`, `3 replies not sent`; with `to`, a sentence: `1 reply to commands and twin updates was not
 * sent`. The summary's command line, the progress lines and the summary's verdict say it in these words.
 */
export function repliesNotSent(n: number, to?: string): string {
  const replies = `${formatNumber(n)} ${n === 1 ? 'reply' : 'replies'}`
  return to === undefined ? `${replies} not sent` : `${replies} to ${to} ${n === 1 ? 'was' : 'were'} not sent`
}

/** One command figure: its count, its noun (`applied`, `reply not sent`), and whether it is a warning (a count above 0 of failed, not taken or not sent). */
export interface CommandCount {
  kind: 'received' | 'applied' | 'failed' | 'ignored' | 'notTaken' | 'waiting' | 'replied' | 'notSent'
  count: number
  noun: string
  warn: boolean
}

/**
 * The command figures in the order every view shows them: what became of the commands (received = applied + failed
 * + ignored, + not taken by a device going down and + waiting while there are any), then the replies (replied, and
 * not sent while there are any). The summary, the progress lines and the live view each only render them.
 */
export function commandFigures(f: ReplyCounters): {fate: CommandCount[]; replies: CommandCount[]} {
  const waiting = commandsWaiting(f)
  const notTaken = f.commandsNotTaken ?? 0
  const figure = (kind: CommandCount['kind'], count: number, noun: string, warn = false): CommandCount => ({kind, count, noun, warn: warn && count > 0})
  const fate = [
    figure('received', f.commandsReceived, 'received'),
    figure('applied', f.commandsApplied, 'applied'),
    figure('failed', f.commandsFailed, 'failed', true),
    figure('ignored', f.commandsIgnored, 'ignored'),
    ...(notTaken > 0 ? [figure('notTaken', notTaken, 'not taken', true)] : []),
    ...(waiting > 0 ? [figure('waiting', waiting, 'waiting')] : []),
  ]
  const lost = f.commandsReplyLost
  const replies = [figure('replied', f.commandsReplied, 'replied'), ...(lost > 0 ? [figure('notSent', lost, `${lost === 1 ? 'reply' : 'replies'} not sent`, true)] : [])]
  return {fate, replies}
}
