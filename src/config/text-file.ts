/**
 * Whether a file's bytes are text: config files (yaml-loader) and the capture reader (replay, the csv source) say
 * `file:line:col: not a text file (...)` for a binary file, never echoing its bytes. No parser imported here.
 */
import {extname} from 'node:path'
import type {ConfigProblem} from '../errors.js'

/**
 * The problem `file:line:col: not a text file (a NUL byte at byte N); expected <expected>` when `bytes` (a file's
 * start, or all of it) hold a NUL byte or are not UTF-8 (a sequence cut at the end is allowed), else undefined.
 * Config files and the capture reader (replay, the csv source) tell a binary file so. Bytes that are not UTF-8
 * without a NUL are most likely text in another encoding (an Excel export in windows-1252): that is said instead,
 * with the command that converts it.
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
  if (nul >= 0) return {file, line, col, message: `not a text file (a NUL byte at byte ${bad}); expected ${expected}`}
  const ext = extname(file)
  const converted = `${file.slice(0, file.length - ext.length)}.utf8${ext}`
  return {file, line, col, message: `not UTF-8 text: convert it first (iconv -f windows-1252 -t utf-8 ${file} > ${converted})`}
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
  if (lo === bytes.length) return lo
  // The prefix may end in the start of a sequence the next byte breaks (windows-1252 'é' is 0xe9, a UTF-8 lead
  // byte): the fault is at that start, up to 3 bytes back.
  for (let k = lo; k > Math.max(0, lo - 4); k--) {
    try {
      new TextDecoder('utf-8', {fatal: true}).decode(bytes.subarray(0, k))
      return k
    } catch {
      // A cut sequence still ends the prefix: one byte back.
    }
  }
  return lo
}
