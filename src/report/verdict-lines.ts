import type {ThresholdVerdict} from '../metrics/thresholds.js'
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
