/**
 * One set of MQTT topic rules (net/topic-rules.ts): isTopicName (the mqtt sink's per-message topic check), isValidTopicFilter
 * (rule FROM "filter") and the mqtt source's topicFilterProblem agree with findTopicFault / findFilterFault, length
 * in UTF-8 bytes included.
 */
import {describe, expect, it} from 'vitest'
import {findFilterFault, findTopicFault, isTopicName} from '../../../src/net/topic-rules.js'
import {isValidTopicFilter} from '../../../src/pipeline/rule/plan.js'
import {mqttSourceOptions, topicFilterProblem} from '../../../src/pipeline/sources/mqtt.js'

const samples = [
  '',
  'a',
  'a/b/c',
  '/',
  '//',
  '+',
  '#',
  'a/+',
  'a/+/b',
  'a/#',
  'a/#/b',
  'a/b#',
  'a+/b',
  '+a',
  'a\0b',
  '$SYS/x',
  'é/ü/ß',
  'x'.repeat(65_535),
  'x'.repeat(65_536),
  'é'.repeat(32_767),
  'é'.repeat(32_768),
  `${'é'.repeat(30_000)}/#`,
  `${'é'.repeat(40_000)}/#`,
  `${'x'.repeat(65_533)}/#`,
  `${'x'.repeat(65_534)}/#`,
]

describe('topic rules', () => {
  it.each(samples.map((s) => [s.length > 20 ? `${s.slice(0, 8)}... (${s.length} chars)` : JSON.stringify(s), s]))('%s: isTopicName and isValidTopicFilter agree with the faults', (_, s) => {
    expect(isTopicName(s)).toBe(findTopicFault(s) === undefined)
    expect(isValidTopicFilter(s)).toBe(findFilterFault(s) === undefined)
  })

  it('counts length in UTF-8 bytes, not characters', () => {
    expect(isTopicName('é'.repeat(32_768))).toBe(false)
    expect(isValidTopicFilter(`${'é'.repeat(40_000)}/#`)).toBe(false)
    expect(isValidTopicFilter(`${'é'.repeat(30_000)}/#`)).toBe(true)
  })
})

describe('the mqtt source says which rule a filter breaks, and where', () => {
  it('topicFilterProblem', () => {
    expect(topicFilterProblem('a/#')).toBeUndefined()
    expect(topicFilterProblem('$share/g/a/+/b')).toBeUndefined()
    expect(topicFilterProblem('a/b+')).toBe('topic filter "a/b+" has "+" inside a level at column 4: + must stand alone between slashes (a/+/b)')
    expect(topicFilterProblem('$share/g/a/#/b')).toBe('topic filter "$share/g/a/#/b" has "#" before its end at column 12: # must be the whole last level (a/b/#)')
    expect(topicFilterProblem('$share/g')).toBe('topic filter "$share/g" names no filter after $share/<group>/: an MQTT topic filter needs at least one character')
    expect(topicFilterProblem('a\0b')).toContain('contains a NUL character at column 2')
  })

  it('the options schema reports it once, as the issue', () => {
    const parsed = mqttSourceOptions.safeParse({url: 'mqtt://h', topics: ['ok/#', 'a/#/b']})
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['topics.1', 'topic filter "a/#/b" has "#" before its end at column 3: # must be the whole last level (a/b/#)']])
  })
})
