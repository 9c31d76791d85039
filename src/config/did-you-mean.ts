/**
 * "Did you mean …?" for names a person typed: unknown keys in a config file, unknown functions, sources, tables and
 * columns in a rule. One mechanism for all of them.
 */

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (Math.abs(a.length - b.length) >= limit) return limit
  let prev = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      rowMin = Math.min(rowMin, cur[j])
    }
    if (rowMin >= limit) return limit
    prev = cur
  }
  return prev[b.length]
}

/**
 * The candidate nearest to `name`: the same name in another case first, else the closest by edit distance within a
 * bound that grows with the name's length (1 for short names, at most 3), so `var` is not taken for `lag`.
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase()
  const list = [...candidates]
  const sameCase = list.find((c) => c.toLowerCase() === lower)
  if (sameCase !== undefined) return sameCase
  let best: string | undefined
  let bestDistance = Math.min(3, Math.max(1, Math.floor(lower.length / 3)) + 1)
  for (const c of list) {
    const d = editDistance(lower, c.toLowerCase(), bestDistance)
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}
