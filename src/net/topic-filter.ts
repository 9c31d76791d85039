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
