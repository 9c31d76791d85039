/** MQTT topic filter matching (`+` one level, `#` the rest, `$`-topics only by filters that name them). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && !filter.startsWith('$')) return false
  let f = 0
  let t = 0
  while (f < filter.length) {
    const fc = filter[f]
    if (fc === '#') return true
    if (fc === '+') {
      while (t < topic.length && topic[t] !== '/') t++
      f++
      continue
    }
    if (t >= topic.length) {
      // "a/#" also matches "a"
      return filter.slice(f) === '/#'
    }
    if (fc !== topic[t]) return false
    f++
    t++
  }
  return t === topic.length
}

/**
 * Whether some topic matches both filters. Levels are compared one by one: `+` meets any one level, `#` any rest
 * (its parent level included, as topicMatches has it), other levels must be equal; a `$`-topic is matched only by
 * filters that name its first level.
 */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/')
  const y = b.split('/')
  if (x[0].startsWith('$') !== y[0].startsWith('$') && (isWildcard(x[0]) || isWildcard(y[0]))) return false
  for (let i = 0; ; i++) {
    if (x[i] === '#' || y[i] === '#') return true
    if (i === x.length || i === y.length) return x.length === y.length
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false
  }
}

function isWildcard(level: string): boolean {
  return level === '+' || level === '#'
}
