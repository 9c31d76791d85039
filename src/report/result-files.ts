import {basename} from 'node:path'
import {loadBenchResult, type BenchResult} from '../bench/bench-result.js'

/** A result read from a file, with the short name reports show for it. */
export interface LabelledResult {
  file: string
  label: string
  result: BenchResult
}

/**
 * Reads bench result files (every problem a ConfigError naming its file) and names each by its file name without
 * `.json`; names that would repeat (`a/run.json`, `b/run.json`) keep their directories instead.
 */
export function loadLabelledResults(files: readonly string[]): LabelledResult[] {
  const short = files.map((f) => basename(f).replace(/\.json$/i, ''))
  const repeated = new Set(short.filter((s, i) => short.indexOf(s) !== i))
  return files.map((file, i) => ({file, label: repeated.has(short[i]) ? file : short[i], result: loadBenchResult(file)}))
}
