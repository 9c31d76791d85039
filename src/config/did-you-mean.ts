/**
 * "Did you mean" hints for names a user typed (config keys, kinds, threshold names). Case-insensitive; a candidate
 * counts as close within edit distance 2, or 1 for names of up to four letters (so `ab` does not suggest `id`).
 * Failing that, the one candidate the name shortens word by word (`devId` for `deviceId`).
 */
export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  const typed = name.toLowerCase()
  const limit = typed.length <= 4 ? 2 : 3
  const all = [...candidates]
  let best: string | undefined
  let bestDistance = limit
  for (const candidate of all) {
    const d = boundedDistance(typed, candidate.toLowerCase(), bestDistance)
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return best ?? shortenedFrom(name, all)
}

/**
 * The candidate whose words `name`'s words begin, as many words in the same order: `devId` shortens `deviceId`,
 * `temp` `temperature`. Only when exactly one candidate fits, and each word typed has two letters or more.
 */
function shortenedFrom(name: string, candidates: readonly string[]): string | undefined {
  const typed = words(name)
  if (name.length < 3 || typed.length === 0 || typed.some((w) => w.length < 2)) return undefined
  const fits = candidates.filter((candidate) => {
    const full = words(candidate)
    return full.length === typed.length && full.every((w, i) => w.startsWith(typed[i]))
  })
  return fits.length === 1 ? fits[0] : undefined
}

/** camelCase, snake_case, kebab-case and dotted names as lower-case words. */
function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[\s_.-]+/)
    .filter((w) => w !== '')
}

/**
 * Edit distance with two neighbouring letters swapped counting as one edit (optimal string alignment): `fro` is
 * one slip from `for`, not two. Gives up (returning `limit`) as soon as it cannot be below `limit`.
 */
export function boundedDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit
  let before: number[] = []
  let prev = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    let rowMin = i
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j], before[j - 2] + 1)
      rowMin = Math.min(rowMin, cur[j])
    }
    if (rowMin >= limit) return limit
    before = prev
    prev = cur
  }
  return prev[b.length]
}
