/**
 * 100,000 garbled rules by default, 1,000,000 with IOTD_FUZZ_FULL=1: parseRule + planRule may only ever throw
 * RuleSyntaxError or RulePlanError. Deterministic (seeded), so a failure names its input and can be replayed.
 */
import {cpus, loadavg} from 'node:os'
import {describe, expect, it} from 'vitest'
import {parseRule, planRule, RulePlanError, RuleSyntaxError} from '../../../src/pipeline/rule/index.js'
import {seededRandom} from '../../helpers/seeded-random.js'

const SEEDS = [
  `SELECT deviceId, avg(temp) AS t, count(*) FROM "factory/+/temp" AS s LEFT JOIN devices d ON s.deviceId = d.id WHERE temp > 10 GROUP BY deviceId, TUMBLINGWINDOW(ss, 10) FILTER (WHERE temp < 200) HAVING avg(temp) > 3 ORDER BY t DESC LIMIT 5`,
  `SELECT *, meta(topic) AS topic FROM telemetry WHERE payload->a[0] IS NOT NULL AND name LIKE 'acme/%' OR x NOT IN (1, 'two', null)`,
  `SELECT CASE WHEN t > 30 THEN 'hot' ELSE 'ok' END AS level, lag(t) OVER (PARTITION BY dev), zscore(t, 20) FROM s -- trailing`,
  `select max(v), percentile(v, 0.9), window_start(), window_end() from s group by SLIDINGWINDOW(ss, 10, 1) OVER (WHEN v > 0)`,
  `SELECT count(*) FROM s GROUP BY SESSIONWINDOW(mi, 30, 5), COUNTWINDOW(3, 2) /* two windows */`,
  `SELECT round(x / 3.5e2, 2), cast(y, 'float'), format_time(ts, 'YYYY-MM-DD'), "quoted name", \`tick\` FROM 'a/#'`,
  `SELECT a BETWEEN -1 AND 2, CASE x WHEN 1 THEN 2 END, concat('it''s', lower(u)) FROM s HAVING 1`,
]

const TOKENS = [
  'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'AS', 'JOIN', 'LEFT', 'ON', 'AND', 'OR', 'NOT', 'IN',
  'BETWEEN', 'LIKE', 'IS', 'NULL', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'FILTER', 'OVER', 'TUMBLINGWINDOW(ss, 1)',
  'COUNTWINDOW(', '(', ')', ',', '.', '->', '[', ']', '*', '+', '-', '/', '%', '=', '<>', '>=', "'", '"', '`', '--', '/*', '*/',
  'meta(', 'count(*)', 'avg(', 'lag(', 'zscore(x, 0)', '0', '-1', '1e309', '.5', 'x', 'ss', 'DD', ';', '\n', '\t', '',
]

const UNICODE = ['é', '😀', '\u0000', '\u200b', '\ufeff', '\ud800', 'Ω', '\u2028', '中', '\u00a0']


function mutate(base: string, random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]
  let s = base
  const edits = 1 + Math.floor(random() * 4)
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * (s.length + 1))
    switch (Math.floor(random() * 7)) {
      case 0: // byte flip
        s = s.slice(0, at) + String.fromCharCode(s.charCodeAt(at) ^ (1 << Math.floor(random() * 7))) + s.slice(at + 1)
        break
      case 1: // truncate
        s = s.slice(0, at)
        break
      case 2: // insert a token
        s = `${s.slice(0, at)} ${pick(TOKENS)} ${s.slice(at)}`
        break
      case 3: // delete a span
        s = s.slice(0, at) + s.slice(at + Math.floor(random() * 12))
        break
      case 4: // random unicode
        s = s.slice(0, at) + pick(UNICODE) + s.slice(at)
        break
      case 5: // swap in a random ASCII character
        s = s.slice(0, at) + String.fromCharCode(32 + Math.floor(random() * 95)) + s.slice(at + 1)
        break
      default: // splice two rules
        s = s.slice(0, at) + pick(SEEDS).slice(Math.floor(random() * 60))
    }
  }
  return s
}

const FULL = process.env.IOTD_FUZZ_FULL === '1'
/** ~25 s on an idle core; the bound grows with the machine's load (shared with parallel work), up to 5×. */
const LOAD = Math.min(5, Math.max(1, loadavg()[0] / cpus().length))
const COUNT = FULL ? 1_000_000 : 100_000

describe('fuzz: garbled rules', () => {
  it('seed rules are valid (so mutations start from real syntax)', () => {
    for (const seed of SEEDS.slice(0, 4)) expect(() => planRule(parseRule(seed))).not.toThrow()
  })

  it(`${COUNT.toLocaleString('en')} mutations only ever throw RuleSyntaxError or RulePlanError`, () => {
    const random = seededRandom(20261104)
    const counts = {ok: 0, syntax: 0, plan: 0}
    const started = performance.now()
    for (let i = 0; i < COUNT; i++) {
      const sql = mutate(SEEDS[i % SEEDS.length], random)
      try {
        planRule(parseRule(sql))
        counts.ok++
      } catch (error) {
        if (error instanceof RuleSyntaxError) {
          counts.syntax++
          // The position must be inside (or just past) the text, or carets point nowhere.
          if (error.offset > sql.length) throw new Error(`offset ${error.offset} beyond input ${JSON.stringify(sql)}`)
        } else if (error instanceof RulePlanError) counts.plan++
        else throw new Error(`input ${JSON.stringify(sql)} threw ${String(error)}`)
      }
    }
    const seconds = (performance.now() - started) / 1000
    console.log(`fuzz: ${COUNT} rules in ${seconds.toFixed(1)} s (${Math.round(COUNT / seconds)}/s): ${JSON.stringify(counts)}`)
    expect(counts.ok + counts.syntax + counts.plan).toBe(COUNT)
    expect(counts.syntax).toBeGreaterThan(0)
    expect(counts.plan).toBeGreaterThan(0)
    expect(counts.ok).toBeGreaterThan(0)
  }, (FULL ? 300_000 : 60_000) * LOAD)
})
