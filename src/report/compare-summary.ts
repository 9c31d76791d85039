import {formatVerdicts} from './verdict-lines.js'
import {formatComparison, type ComparisonRow} from './bench-compare.js'
import type {ThresholdVerdictRecord} from '../bench/bench-result.js'
import {thresholdHeadline} from './bench-summary.js'
import {plural} from './sim-summary.js'
import {paint} from './terminal.js'

/**
 * What `iotd report compare` prints and `--json` returns: the two runs, how their setups differ, the rows with
 * their verdicts, and the candidate's threshold verdicts when thresholds were given.
 */

export interface CompareReport {
  schemaVersion: 1
  base: string
  candidate: string
  tolerancePct: number
  /** `QoS 0 -> 1`: the runs were set up differently, so the deltas compare unlike things. */
  setupDifferences: string[]
  rows: ComparisonRow[]
  regressions: string[]
  /** Thresholds evaluated against the candidate. */
  thresholds: ThresholdVerdictRecord[]
}

export function formatCompareReport(report: CompareReport, options: {color: boolean}): string {
  const c = paint(options.color)
  const lines = [`${c.bold('iotd report compare')}  ${report.base} -> ${report.candidate}  ${c.dim(`tolerance ${report.tolerancePct}%`)}`]
  for (const d of report.setupDifferences) lines.push(`  ${c.yellow('⚠')} set up differently: ${d}`)
  const regressed = report.rows.filter((r) => r.verdict === 'regression')
  if (regressed.length > 0) {
    const which = regressed.map((r) => `${r.metric} ${r.deltaPct === null ? '(new)' : `(${r.deltaPct > 0 ? '+' : ''}${r.deltaPct.toFixed(1)}%)`}`)
    lines.push(`  ${c.red('✗')} ${c.bold(`${plural(regressed.length, 'regression')} beyond ${report.tolerancePct}%`)}: ${which.join(', ')}`)
  } else {
    const better = report.rows.filter((r) => r.verdict === 'improvement').length
    lines.push(`  ${c.green('✓')} ${c.bold(`no regression beyond ${report.tolerancePct}%`)}${better > 0 ? ` (${formatBetter(better)})` : ''}`)
  }
  if (report.thresholds.length > 0) {
    const headline = thresholdHeadline(report.thresholds)
    lines.push(`  ${headline.ok ? c.green('✓') : c.red('✗')} ${headline.text} on ${report.candidate}`)
    lines.push(formatVerdicts(report.thresholds.map((v) => ({...v, observed: v.observed ?? Number.NaN})), {color: options.color, indent: '    '}))
  }
  lines.push('')
  lines.push(...formatComparison(report.rows, {color: options.color}).split('\n').map((l) => `  ${l}`))
  return lines.join('\n')
}

function formatBetter(n: number): string {
  return `${n} ${n === 1 ? 'figure' : 'figures'} better`
}
