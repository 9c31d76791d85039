import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../helpers/mosquitto.js'

/**
 * The plain progress lines of `iotd sim` (stderr into a pipe) add up to the summary: the last line's counts are the
 * totals. The last interval, from the last per-second line to the stop, used to be in the summary only: 10 devices
 * every 1 s for 4 s ended with "30 published" on stderr and "published 40" in the summary.
 */

interface LineFigures {
  published: number
  rate: number
  elapsedS: number
}

function progressLines(stderr: string): Array<{text: string} & LineFigures> {
  return stderr.split('\n').filter((l) => l.startsWith('sim ')).map((text) => {
    const m = /^sim ([\d.]+)s\/\S+ .* ([\d.,]+) msg\/s {2}([\d,]+) published/.exec(text)
    if (!m) throw new Error(`not a progress line: ${text}`)
    return {text, elapsedS: Number(m[1]), rate: Number(m[2].replaceAll(',', '')), published: Number(m[3].replaceAll(',', ''))}
  })
}

describeMosquitto('iotd sim: the plain progress lines end at the summary\'s totals (a real mosquitto)', () => {
  let broker: Mosquitto
  let dir: string
  beforeAll(async () => {
    broker = await startMosquitto()
    dir = mkdtempSync(join(tmpdir(), 'iotd-progress-lines-'))
  })
  afterAll(async () => {
    await broker?.stop()
  })

  it('10 devices every 1 s for 4 s: the last line says what the summary says, and its rate is the last interval\'s', {timeout: 60_000}, async () => {
    const scenario = join(dir, 's1.yaml')
    writeFileSync(scenario, 'version: 1\nname: s1\nfleets:\n  - name: s1\n    count: 10\n    topic: "progress/s1/{deviceId}"\n    every: 1s\n    fields:\n      v: 1\n')
    const r = await runCli(['sim', scenario, '--broker', broker.url, '--duration', '4s'])
    expect(r.code, r.stderr).toBe(0)
    const published = Number(/^ {2}total +\S+ +([\d,]+)/m.exec(r.stdout)?.[1].replaceAll(',', ''))
    expect(published).toBeGreaterThanOrEqual(30)
    const lines = progressLines(r.stderr)
    expect(lines.length, r.stderr).toBeGreaterThanOrEqual(2)
    const last = lines.at(-1)!
    expect(last.published, r.stderr).toBe(published)
    expect(last.text).toMatch(/ run ended$/)
    // The closing line's rate is its own interval's: its messages over its time.
    const before = lines.at(-2)!
    const seconds = last.elapsedS - before.elapsedS
    expect(last.rate * seconds).toBeCloseTo(last.published - before.published, 0)
  })

  it('a run with Modbus groups beside its MQTT fleet (scenarios/modbus-plant.yaml, on ports the OS picks) ends at the totals too', {timeout: 60_000}, async () => {
    const plant = readFileSync('scenarios/modbus-plant.yaml', 'utf8')
      .replace(/port: 5020.*/, 'port: 0')
      .replace('port: 5030', 'port: 0')
      .replace('id: "meter-{port}-{unit:02}"', 'id: "meter-{index}-{unit:02}"')
    const scenario = join(dir, 'plant.yaml')
    writeFileSync(scenario, plant)
    const plain = await runCli(['sim', scenario, '--broker', broker.url, '--duration', '4s'])
    expect(plain.code, plain.stderr).toBe(0)
    const published = Number(/^ {2}total +\S+ +([\d,]+)/m.exec(plain.stdout)?.[1].replaceAll(',', ''))
    const last = progressLines(plain.stderr).at(-1)!
    expect(plain.stderr).toMatch(/^modbus: meter listening on /m)
    expect(last.published, plain.stderr).toBe(published)
  })
})
