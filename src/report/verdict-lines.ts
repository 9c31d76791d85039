import type {ThresholdVerdict} from '../metrics/thresholds.js'
import type {ChalkInstance} from 'chalk'
import {formatNumber} from '../metrics/format.js'
import {paint} from './terminal.js'

export interface VerdictFormatOptions {
  color?: boolean
  /** Put before every line (the summary indents its sections). */
  indent?: string
}

/** k6-style lines, thresholds aligned: `✓ p(99)<20ms  observed 12.4ms`. Empty string when there are none. */
export function formatVerdicts(verdicts: readonly ThresholdVerdict[], opts: VerdictFormatOptions = {}): string {
  const c = paint(opts.color ?? false)
  const indent = opts.indent ?? ''
  const width = Math.max(0, ...verdicts.map((v) => v.threshold.length))
  return verdicts
    .map((v) => {
      const mark = v.ok ? c.green('✓') : c.red('✗')
      const value = v.ok ? v.observedText : c.red(v.observedText)
      return `${indent}${mark} ${v.threshold.padEnd(width)}  ${c.dim('observed')} ${value}`
    })
    .join('\n')
}

/**
 * The headline line and one line per threshold (k6's `✓ p(99)<20ms  observed 12.4ms`), or a dim note; the sim
 * summary shows its thresholds the same way.
 */
/** Both summaries indent their sections by two spaces. */
const INDENT = '  '

export function thresholdLines(verdicts: ReadonlyArray<Omit<ThresholdVerdict, 'observed'> & {observed: number | null}>, c: ChalkInstance, color: boolean): string[] {
  if (verdicts.length === 0) return [`${INDENT}${c.dim('no thresholds set')}`]
  const headline = thresholdHeadline(verdicts)
  const failed = verdicts.filter((v) => !v.ok)
  const head = headline.ok
    ? `${c.green('✓')} ${c.bold(headline.text)}`
    : `${c.red('✗')} ${c.bold(headline.text)}: ${failed.map((v) => v.threshold).join(', ')}`
  const each = formatVerdicts(
    verdicts.map((v) => ({...v, observed: v.observed ?? Number.NaN})),
    {color, indent: `${INDENT}${INDENT}`},
  )
  return [`${INDENT}${head}`, ...each.split('\n')]
}

/** `all 3 thresholds passed`, `the threshold failed`, `2 of 3 thresholds failed`; ok is false when any failed. */
export function thresholdHeadline(verdicts: ReadonlyArray<{ok: boolean}>): {ok: boolean; text: string} {
  const failed = verdicts.filter((v) => !v.ok).length
  if (verdicts.length === 1) return {ok: failed === 0, text: failed === 0 ? 'the threshold passed' : 'the threshold failed'}
  if (failed === 0) return {ok: true, text: `all ${formatNumber(verdicts.length)} thresholds passed`}
  return {ok: false, text: `${formatNumber(failed)} of ${formatNumber(verdicts.length)} threshold${verdicts.length === 1 ? '' : 's'} failed`}
}
