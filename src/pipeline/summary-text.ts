/**
 * The run summary as text (stdout at the end of `pipeline run`) and the one-line progress (stderr, once a second).
 */
import {formatDuration} from '../config/units.js'
import type {PipelineSummary} from './runtime/run-pipeline.js'

function n(v: number): string {
  return Math.round(v).toLocaleString('en-US')
}

/**
 * `previous`: the counters of the line before, so the rate is that of the last interval (a second without input
 * says 0/s); without it, the first line, the rate since the start.
 */
export function formatProgressLine(s: PipelineSummary, previous?: PipelineSummary): string {
  const out = s.rules.reduce((a, r) => a + r.out, 0)
  const queued = s.sinks.reduce((a, k) => a + k.queued, 0)
  const retries = s.sinks.reduce((a, k) => a + k.retries, 0)
  const rate = previous && s.elapsedMs > previous.elapsedMs ? ((s.eventsIn - previous.eventsIn) * 1000) / (s.elapsedMs - previous.elapsedMs) : s.eventsPerSecond
  return `${formatDuration(s.elapsedMs)}  in ${n(s.eventsIn)} (${n(rate)}/s)  out ${n(out)}  queued ${n(queued)}  retries ${n(retries)}  dead letter ${n(s.deadLetter.count)}`
}

export function formatSummary(s: PipelineSummary): string {
  const how: Record<PipelineSummary['stoppedBy'], string> = {
    'end-of-input': 'end of input',
    duration: 'duration reached',
    interrupt: 'interrupted (partial summary)',
    error: `failed: ${s.error ?? ''}`,
  }
  const lines = [`pipeline ${s.pipeline}: ${how[s.stoppedBy]} after ${formatDuration(s.elapsedMs)}, ${n(s.eventsIn)} events (${n(s.eventsPerSecond)}/s)`]
  for (const src of s.sources) {
    const undecodable = src.deadLettered - src.futureRejected
    const parts = [`${n(src.records)} records`]
    // Replayed input counts in the events and the rules' figures like what this run read, so it is said here too.
    if (src.replayed) parts.push(`${n(src.replayed)} replayed from the input log`)
    if (undecodable) parts.push(`${n(undecodable)} undecodable or without event time (dead letter)`)
    if (src.futureRejected) parts.push(`${n(src.futureRejected)} ahead of the clock by more than maxFutureSkew (dead letter)`)
    lines.push(`  source ${src.name} (${src.type}): ${parts.join(', ')}`)
  }
  for (const r of s.rules) {
    const parts = [`in ${n(r.in)}`, `filtered ${n(r.filtered)}`, `out ${n(r.out)}`]
    if (r.rejected) parts.push(`rejected ${n(r.rejected)} (dead letter)`)
    if (r.empty) parts.push(`empty ${n(r.empty)} (every column null or unchanged: not sent)`)
    if (r.windowsFired || r.openWindows) parts.push(`windows fired ${n(r.windowsFired)}`)
    if (r.lateDropped) parts.push(`late dropped ${n(r.lateDropped)}`)
    if (r.futureRejected) parts.push(`future-skew rejected ${n(r.futureRejected)}`)
    if (r.openWindows) parts.push(`open windows ${n(r.openWindows)}`)
    if (r.mapDropped) parts.push(`dropped by map ${n(r.mapDropped)}`)
    lines.push(`  rule ${r.name}: ${parts.join(', ')}`)
  }
  for (const k of s.sinks) {
    const parts = [`${n(k.written)} rows in ${n(k.batches)} batches`]
    if (k.retries) parts.push(`${n(k.retries)} retries`)
    if (k.deadLettered) parts.push(`${n(k.deadLettered)} dead-lettered`)
    if (k.dropped) parts.push(`${n(k.dropped)} dropped (overflow: drop)`)
    if (k.queued) parts.push(`${n(k.queued)} still queued`)
    if (k.latencyP99Ms !== null) parts.push(`latency p50 ${formatDuration(k.latencyP50Ms ?? 0)} p99 ${formatDuration(k.latencyP99Ms)}`)
    lines.push(`  sink ${k.name} (${k.type}): ${parts.join(', ')}`)
  }
  for (const t of s.tables ?? []) {
    if (t.reloads || t.failedReloads) lines.push(`  table ${t.name}: ${n(t.rows)} rows, read again ${n(t.reloads)} times${t.failedReloads ? `, ${n(t.failedReloads)} rewrites could not be read (the previous rows were kept)` : ''}`)
  }
  if (s.deadLetter.count > 0) lines.push(`  dead letter: ${n(s.deadLetter.count)} entries${s.deadLetter.file ? ` in ${s.deadLetter.file}` : ' (counted only: set deadLetter: in the pipeline file to keep them)'}`)
  if (s.droppedAtShutdown.openWindows) lines.push(`  shutdown: ${n(s.droppedAtShutdown.openWindows)} open windows dropped (not acknowledged)`)
  if (s.droppedAtShutdown.queuedRows) lines.push(`  shutdown: ${n(s.droppedAtShutdown.queuedRows)} queued rows not written (not acknowledged)`)
  const st = s.state
  if (st) {
    const parts = [
      st.restoredFrom
        ? `resumed from the checkpoint of ${st.restoredFrom} + ${n(st.replayed)} logged records`
        : st.replayed
          ? `no checkpoint: replayed ${n(st.replayed)} logged records of an earlier run (stopped before its first checkpoint)`
          : 'started empty',
    ]
    if (st.skipped) parts.push(`${n(st.skipped)} file records skipped (taken before)`)
    if (st.redeliveriesSkipped) parts.push(`${n(st.redeliveriesSkipped)} broker redeliveries already logged`)
    parts.push(`${n(st.checkpoints)} checkpoints${st.lastCheckpointMs !== undefined ? ` (last ${formatDuration(st.lastCheckpointMs)}, ${n(st.lastCheckpointBytes ?? 0)} bytes)` : ''}`)
    const exit = {checkpoint: 'the next run resumes from the final checkpoint', cleared: 'cleared (run complete)', log: 'the next run resumes from the last checkpoint and replays the input log'}
    if (st.atExit) parts.push(exit[st.atExit])
    lines.push(`  state ${st.dir}: ${parts.join('; ')}`)
  }
  return `${lines.join('\n')}\n`
}

/** Why a run did nothing it was asked (the command fails with exit 1 and the reason), and what to try. */
export interface NothingDone {
  reason: string
  hint: string
}

/**
 * A run that listened its whole --duration and got nothing: `iotd tail`, `iotd record` and `pipeline run` over live
 * sources say it in one sentence, `nothing received in 1s: <what> while the run listened (<detail>)`, with one hint.
 */
export function nothingReceived(durationMs: number, what: string, detail?: string): NothingDone {
  return {
    reason: `nothing received in ${formatDuration(durationMs)}: ${what} while the run listened${detail === undefined ? '' : ` (${detail})`}`,
    hint: 'check the topic filter and the broker URL against what is published: iotd tail shows what arrives',
  }
}

/**
 * Why a run did nothing it was asked (the command exits 1 with it), or undefined. Nothing came in (no record read,
 * none replayed from the input log, none skipped as taken by an earlier run) and either every source ended (an
 * empty file or stdin) or --duration ended a run that listened to its live sources all along (as bench's and sim's
 * runs that did nothing exit 1). A run stopped by Ctrl-C exits 130 whatever it got (BaseCommand.finishRun).
 */
export function didNothing(s: PipelineSummary): NothingDone | undefined {
  if (s.error !== undefined || s.eventsIn > 0 || (s.state?.skipped ?? 0) > 0) return undefined
  const each = s.sources.map((src) => `source ${src.name} (${src.type}): 0 records`).join(', ')
  if (s.stoppedBy === 'end-of-input') {
    return {reason: `nothing to process: every source ended without a record (${each})`, hint: 'check the source paths and that the files hold records (an empty file or stdin gives none)'}
  }
  if (s.stoppedBy === 'duration') return nothingReceived(s.elapsedMs, 'no source gave a record', each)
  return undefined
}
