/**
 * Whether a file's bytes are text: config files (yaml-loader) and the capture reader (replay, the csv source) say
 * `file:line:col: not a text file (...)` for a binary file, never echoing its bytes. No parser imported here.
 */
import type {ConfigProblem} from '../errors.js'

/**
 * The problem `file:line:col: not a text file (a NUL byte at byte N); expected <expected>` when `bytes` (a file's
 * start, or all of it) hold a NUL byte or are not UTF-8 (a sequence cut at the end is allowed), else undefined.
 * Config files and the capture reader (replay, the csv source) tell a binary file so.
 */
export function notTextFault(file: string, bytes: Buffer, expected: string): ConfigProblem | undefined {
  const nul = bytes.indexOf(0)
  let bad = nul
  if (bad < 0) {
    try {
      new TextDecoder('utf-8', {fatal: true}).decode(bytes, {stream: true})
    } catch {
      bad = firstInvalidUtf8(bytes)
    }
  }
  if (bad < 0) return undefined
  const before = bytes.subarray(0, bad).toString('utf8')
  const line = before.split('\n').length
  const col = before.length - before.lastIndexOf('\n')
  return {file, line, col, message: `not a text file (${nul >= 0 ? 'a NUL byte' : 'bytes that are not UTF-8'} at byte ${bad}); expected ${expected}`}
}

/**
 * Offset of the first byte that starts no valid UTF-8 sequence (found by decoding growing prefixes, only on failure);
 * `bytes.length` when the only fault is a character cut at the end (a file read in part ends so). Also used for device
 * tables (sim/scenario/params.ts).
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let lo = 0
  let hi = bytes.length
  // The longest prefix that decodes (with a cut sequence at its end allowed) ends where the bad byte is.
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2)
    try {
      // A decoder of its own per prefix: a streaming decoder keeps a cut character for its next call.
      new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(0, mid), {stream: true})
      lo = mid
    } catch {
      hi = mid - 1
    }
  }
  return lo
}
