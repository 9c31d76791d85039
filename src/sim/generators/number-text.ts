/**
 * The text of a number in a payload: exactly String(v), made from integers where it can be.
 *
 * Why: a reading quantised to its resolution (2.47, 45.1, an epoch-ms timestamp) is the double nearest a short
 * decimal k / 10^d. V8 turns a double into text with a shortest-round-trip search; the same text made from the
 * integer k is about four times cheaper (perf/RESULTS.md, issue #14: the encoding of four fields was a fifth of the
 * cost of generating a message at 100,000 messages/s).
 *
 * Why it is the same text: when v === k / 10^d with |k| < 10^15 and d ≤ 6, the decimal k / 10^d has at most fifteen
 * significant digits, and two different decimals of at most fifteen digits never round to the same double, so that
 * decimal (trailing zeros dropped) is the shortest text that reads back as v: what String(v) prints. With d ≤ 6 a
 * non-zero v is at least 1e-6, where String stops using an exponent, and below 10^15 it is far from 1e21, where it
 * starts.
 */

/** The most decimals tried; below 1e-6 String(v) uses an exponent. */
const MAX_DECIMALS = 6
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6]
const ZEROS = ['', '0', '00', '000', '0000', '00000', '000000', '0000000', '00000000']
/** Fifteen significant digits at most: see above. */
const MAX_DIGITS_VALUE = 1e15

/**
 * String(v) for a finite v. `hints[slot]` holds the most decimals the slot's values have needed so far (start it at 0),
 * so a field's readings find their d on the first try. A value that is no short decimal (a computed or commanded one)
 * goes to String and leaves the hint as it was: the field's next reading takes the fast path again.
 */
export function numberText(v: number, hints: Uint8Array, slot: number): string {
  for (let d = hints[slot]; d <= MAX_DECIMALS; d++) {
    const scale = POW10[d]
    const k = Math.round(v * scale)
    if (k / scale !== v) continue
    if (Math.abs(k) >= MAX_DIGITS_VALUE) break
    hints[slot] = d
    return decimalText(k, d)
  }
  return String(v)
}

/** The decimal k / 10^d as String prints it: no trailing zeros, no point for a whole number. */
function decimalText(k: number, d: number): string {
  let sign = ''
  if (k < 0) {
    sign = '-'
    k = -k
  }
  if (d === 0) return sign + integerText(k)
  const scale = POW10[d]
  const whole = Math.floor(k / scale)
  let fraction = k - whole * scale
  if (fraction === 0) return sign + integerText(whole)
  let digits = d
  while (fraction % 10 === 0) {
    fraction /= 10
    digits--
  }
  const text = '' + fraction
  return `${sign}${integerText(whole)}.${ZEROS[digits - text.length]}${text}`
}

/** A non-negative integer below 10^15 as text, from two small integers when past 2^31 (their text is the cheap one). */
function integerText(k: number): string {
  if (k <= 0x7fffffff) return '' + k
  const high = Math.floor(k / 1e9)
  const low = '' + (k - high * 1e9)
  return `${high}${ZEROS[9 - low.length]}${low}`
}
