/**
 * Issue #14, acceptance 3: a character per device. 100 devices whose walk means come from a declared gaussian
 * spread as that distribution (in the data a backfill writes); growing the fleet leaves every existing device's
 * params and stream byte-identical; params reach topics, payloads and errors point at the reference.
 */
import {mkdtempSync, readFileSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError} from '../../../src/errors.js'
import {runBackfill} from '../../../src/sim/backfill.js'
import {createDeviceModel} from '../../../src/sim/generators/index.js'
import {expandDevices, loadScenario} from '../../../src/sim/scenario/index.js'

const FROM = Date.UTC(2026, 0, 5)
const TO = FROM + 6 * 3_600_000

const PLANT = (count: number, extra = '') => `
version: 1
seed: 31
fleets:
  - name: press
    count: ${count}
    params:
      base: {kind: gaussian, mean: 50, stddev: 5, resolution: 0.01}
      site: {kind: pick, values: [north, south]}
      firmware: {kind: pick, values: ["1.2.0", "1.3.1"]}
    topic: "plant/{params.site}/{deviceId}"
    every: 10s
    fields:
      firmware: "{params.firmware}"
      temperature: {kind: walk, mean: "{params.base}", theta: 0.5, sigma: 0.3, min: "{params.base}", max: 200, resolution: 0.01}
${extra}`

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)))

describe('params: a character per device', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-params-'))
  const backfill = async (count: number, name: string, toMs = TO) => {
    const scenario = loadScenario('inline.yaml', {text: PLANT(count)})
    const out = join(dir, name)
    await runBackfill({scenario, devices: expandDevices(scenario), fromMs: FROM, toMs, out, format: 'jsonl'})
    const rows = new Map<string, string[]>()
    for (const line of readFileSync(out, 'utf8').trim().split('\n')) {
      const topic = (JSON.parse(line) as {topic: string}).topic
      rows.set(topic, [...(rows.get(topic) ?? []), line])
    }
    return {scenario, rows}
  }

  it("100 devices' means spread as the declared gaussian, each device's data around its own", async () => {
    const {scenario, rows} = await backfill(100, 'hundred.jsonl')
    const devices = expandDevices(scenario)
    const params = devices.map((d) => d.params!.base as number)
    // The draws: mean 50 and stddev 5, within what 100 samples allow; two thirds within one stddev.
    expect(Math.abs(mean(params) - 50)).toBeLessThan(1.6)
    expect(sd(params)).toBeGreaterThan(4)
    expect(sd(params)).toBeLessThan(6)
    const within = params.filter((p) => Math.abs(p - 50) < 5).length
    expect(within).toBeGreaterThan(55)
    expect(within).toBeLessThan(81)

    // The data: each device's readings average to its own param (min is its param too, so it never reads below).
    const observed = devices.map((d) => {
      const lines = rows.get(d.topic)!
      expect(lines).toHaveLength(2160)
      const values = lines.map((l) => (JSON.parse((JSON.parse(l) as {payload: string}).payload) as {temperature: number}).temperature)
      expect(Math.min(...values)).toBeGreaterThanOrEqual(d.params!.base as number)
      return mean(values)
    })
    observed.forEach((m, i) => expect(Math.abs(m - params[i]), devices[i].deviceId).toBeLessThan(0.6))
    expect(Math.abs(mean(observed) - 50)).toBeLessThan(2)
    expect(sd(observed)).toBeGreaterThan(4)

    // Params in topics and payloads.
    expect(devices.every((d) => d.topic === `plant/${d.params!.site}/${d.deviceId}`)).toBe(true)
    expect(new Set(devices.map((d) => d.params!.site))).toEqual(new Set(['north', 'south']))
    const first = JSON.parse((JSON.parse(rows.get(devices[0].topic)![0]) as {payload: string}).payload) as {firmware: string}
    expect(first.firmware).toBe(devices[0].params!.firmware)
  }, 120_000)

  it("growing the fleet keeps every existing device's params and stream byte-identical", async () => {
    const small = await backfill(100, 'small.jsonl', FROM + 2 * 3_600_000)
    const big = await backfill(150, 'big.jsonl', FROM + 2 * 3_600_000)
    const before = expandDevices(small.scenario)
    const after = expandDevices(big.scenario)
    expect(after.slice(0, 100).map((d) => d.params)).toEqual(before.map((d) => d.params))
    expect(big.rows.size).toBe(150)
    for (const [topic, lines] of small.rows) expect(big.rows.get(topic)?.join('\n') === lines.join('\n'), topic).toBe(true)
  }, 120_000)

  it("a raw payload template carries each device's params, id and vars, as topics do, and stays deterministic", () => {
    const raw = (count: number) =>
      PLANT(count).replace('    every: 10s\n', '    every: 10s\n    vars: {line: {cycle: [l1, l2]}}\n    payload: {format: raw, template: "{params.firmware};{deviceId};{index:03};{line};{params.base};{temperature}"}\n')
    const payloads = (count: number) => {
      const s = loadScenario('raw.yaml', {text: raw(count)})
      return expandDevices(s).map((d) => ({params: d.params!, id: d.deviceId, payload: [0, 1, 2].map((n) => createDeviceModel(s, d).sample(n, FROM + n * 10_000).payload!)}))
    }
    // It was refused: 'payload template names unknown field "params.firmware" (fields: firmware, temperature)'.
    const first = payloads(4)
    for (const [k, d] of first.entries()) {
      for (const payload of d.payload) {
        const [firmware, id, index, line, base, temperature] = payload.split(';')
        expect([firmware, id, index, line, base]).toEqual([String(d.params.firmware), d.id, String(k).padStart(3, '0'), k % 2 === 0 ? 'l1' : 'l2', String(d.params.base)])
        expect(Number(temperature)).toBeGreaterThanOrEqual(Number(d.params.base))
      }
    }
    // Each device its own: four bases for four devices.
    expect(new Set(first.map((d) => d.payload[0].split(';')[4])).size).toBe(4)
    // The same seed gives the same bytes; a bigger fleet leaves the first devices' bytes as they were.
    expect(payloads(4)).toEqual(first)
    expect(payloads(6).slice(0, 4)).toEqual(first)
  })

  it('a reference to an unknown param is an error at its place, with the closest name', () => {
    const text = PLANT(2).replace('mean: "{params.base}"', 'mean: "{params.bse}"')
    let error: unknown
    try {
      loadScenario('inline.yaml', {text})
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const line = text.split('\n').findIndex((l) => l.includes('params.bse')) + 1
    expect((error as ConfigError).message).toMatch(new RegExp(`inline\\.yaml:${line}:\\d+: .*unknown param "bse" \\(did you mean "base"\\?\\)`))
    expect(() => loadScenario('inline.yaml', {text: PLANT(2).replace('min: "{params.base}"', 'min: "{params.site}"')})).toThrow(/param "site" is not a number on every device/)
  })

  it('reads params from a device table (registry:), by its index column, beside drawn ones', () => {
    writeFileSync(join(dir, 'devices.csv'), 'deviceId,index,offset,site\nx-2,2,3.5,south\nx-0,0,-1.25,north\nx-1,1,0,north\n')
    const text = (registry: string) => `
version: 1
seed: 4
fleets:
  - name: x
    count: 3
    registry: ${registry}
    params:
      firmware: {kind: pick, values: ["1.0", "1.1"]}
    topic: "plant/{params.site}/{deviceId}"
    every: 1s
    fields:
      v: {kind: walk, mean: "{params.offset}", theta: 1, sigma: 0, resolution: 0.01}
`
    const s = loadScenario(join(dir, 'plant.yaml'), {text: text('devices.csv')})
    const devices = expandDevices(s)
    expect(devices.map((d) => [d.params!.offset, d.params!.site, typeof d.params!.firmware])).toEqual([
      [-1.25, 'north', 'string'],
      [0, 'north', 'string'],
      [3.5, 'south', 'string'],
    ])
    expect(devices[2].topic).toBe('plant/south/x-0002')
    expect(devices.map((d) => JSON.parse(createDeviceModel(s, d).sample(0, FROM).payload!).v)).toEqual([-1.25, 0, 3.5])
    writeFileSync(join(dir, 'short.csv'), 'offset,site\n1,north\n')
    expect(() => loadScenario(join(dir, 'plant.yaml'), {text: text('short.csv')})).toThrow(/short\.csv has no row for device index 1 \(nor for 1 more\)/)
    expect(() => loadScenario(join(dir, 'plant.yaml'), {text: text('missing.csv')})).toThrow(/cannot read .*missing\.csv: no such file/)
    // A value a device table cannot hold, or a row with no device index, is refused at its line.
    writeFileSync(join(dir, 'nested.jsonl'), '{"offset":1,"site":"a"}\n\n{"offset":2,"site":null}\n')
    expect(() => loadScenario(join(dir, 'plant.yaml'), {text: text('nested.jsonl')})).toThrow(/nested\.jsonl:3: column "site" is null/)
    writeFileSync(join(dir, 'badindex.csv'), 'index,offset,site\n0,1,a\nx,2,b\n')
    expect(() => loadScenario(join(dir, 'plant.yaml'), {text: text('badindex.csv')})).toThrow(/badindex\.csv:3: index "x" is not a device index/)
    // A spreadsheet's "20.50" keeps its text, and is still a number where a field needs one; text that is no number is
    // refused, naming the device.
    writeFileSync(join(dir, 'sheet.csv'), 'offset,site\n20.50,a\n+1,b\n007,c\n')
    const sheet = loadScenario(join(dir, 'plant.yaml'), {text: text('sheet.csv')})
    const sheetDevices = expandDevices(sheet)
    expect(sheetDevices.map((d) => d.params!.offset)).toEqual(['20.50', '+1', '007'])
    expect(sheetDevices.map((d) => JSON.parse(createDeviceModel(sheet, d).sample(0, FROM).payload!).v)).toEqual([20.5, 1, 7])
    writeFileSync(join(dir, 'words.csv'), 'offset,site\n1,a\nhigh,b\n2,c\n')
    expect(() => loadScenario(join(dir, 'plant.yaml'), {text: text('words.csv')})).toThrow(/words\.csv:3: the "offset" cell of device index 1 is "high", not a number, so it cannot stand for mean/)
  })
})

describe('a device table (registry:) that cannot be read is one problem, at its own file and line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iotd-registry-'))
  // The id, topic, a constant and numeric fields all use the table's columns: when the table is refused, none of
  // them may add a problem of its own.
  const SCENARIO = (registry: string) => `version: 1
seed: 4
fleets:
  - name: x
    count: 3
    registry: ${registry}
    id: "{params.site}-{index}"
    vars:
      area: "{params.site}/a"
    topic: "plant/{params.site}/{deviceId}"
    every: 1s
    fields:
      fw: "{params.fw}"
      v: {kind: gaussian, mean: "{params.offset}", stddev: "{params.spread}", resolution: 0.01}
`
  const at = (name: string) => join(dir, name)
  /** What loading the scenario over this table reports, each problem as `line:col message`. */
  const problems = (name: string, content: string | Uint8Array): string[] => {
    writeFileSync(at(name), content)
    try {
      loadScenario(at('plant.yaml'), {text: SCENARIO(name)})
    } catch (error) {
      if (error instanceof ConfigError) return error.problems.map((p) => `${p.line}:${p.col} ${p.message}`)
      throw error
    }
    return []
  }
  const HEADER = 'offset,site,fw,spread\n'

  it('a row with fewer (or more) cells than the header: that row, once, with both counts', () => {
    // It said "Invalid Record Length: columns length is 4, got 1 on line 3", then an unknown placeholder or param
    // for every use of the table's columns.
    expect(problems('short.csv', `${HEADER}1,north,a,1\n2\n3,south,b,1\n`)).toEqual([`6:15 fleets[0].registry: ${at('short.csv')}:3: this row has 1 cell where the header has 4 (offset, site, fw, spread)`])
    expect(problems('long.csv', `${HEADER}1,north,a,1\n2,south,b,1,extra\n3,south,b,1,x\n3,south,b\n`)).toEqual([
      `6:15 fleets[0].registry: ${at('long.csv')}:3: this row has 5 cells where the header has 4 (offset, site, fw, spread); 2 more rows do not match the header either (lines 4, 5)`,
    ])
  })

  it('a quote that is never closed: the line and column where it opens', () => {
    // It said "the parsing is finished with an opening quote at line 6": the end of the file.
    expect(problems('quote.csv', `${HEADER}1,north,a,1\n2,"south,b,1\n3,south,b,1\n4,west,c,1\n`)).toEqual([`6:15 fleets[0].registry: ${at('quote.csv')}:3:3: this quote opens a cell that is never closed (the file ends inside it)`])
  })

  it('a binary file, or text that is not UTF-8, is said to be so', () => {
    // A PNG (or an executable) saved as devices.csv was read as CSV: "Invalid Record Length", or rows that were missing.
    const png = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x01, 0x00])
    expect(problems('image.csv', png)).toEqual([`6:15 fleets[0].registry: ${at('image.csv')}:3:1: not a text file (a NUL byte here, as in binary data): a device table is CSV with a header, or JSON lines`])
    const big = new Uint8Array(4_000_000).map((_, i) => ((i + 1) * 7919) % 251)
    const [message] = problems('big.jsonl', big)
    expect(message).toMatch(/big\.jsonl:\d+:\d+: not a text file \(a NUL byte here/)
    expect(message.length).toBeLessThan(300)
    // Latin-1 text, as an old spreadsheet exports it.
    expect(problems('latin1.csv', Buffer.concat([Buffer.from(`${HEADER}1,M`), Buffer.from([0xfc]), Buffer.from('nchen,a,1\n2,b,c,1\n3,d,e,1\n')]))).toEqual([
      `6:15 fleets[0].registry: ${at('latin1.csv')}:2:4: not a UTF-8 text file (byte 0xfc here is not UTF-8): save the table as UTF-8`,
    ])
    // A good "é" before the bad byte, and a character cut at the end: found where they are.
    expect(problems('mixed.csv', Buffer.concat([Buffer.from(`${HEADER}1,\u00e9,a,1\n2,`), Buffer.from([0xfc]), Buffer.from(',b,1\n')]))).toEqual([
      `6:15 fleets[0].registry: ${at('mixed.csv')}:3:3: not a UTF-8 text file (byte 0xfc here is not UTF-8): save the table as UTF-8`,
    ])
    expect(problems('cut.csv', Buffer.concat([Buffer.from(`${HEADER}1,a,b,1\n2,`), Buffer.from([0xe2, 0x82])]))).toEqual([
      `6:15 fleets[0].registry: ${at('cut.csv')}:3:3: not a UTF-8 text file (byte 0xe2 here is not UTF-8): save the table as UTF-8`,
    ])
  })

  it('a JSON line that is not JSON, or not an object: file:line and what is wrong', () => {
    // It said "... is not a device table (CSV with a header, or JSON lines): line 2: Unexpected end of JSON input".
    const row = (k: number) => `{"offset":${k},"site":"s${k}","fw":"a","spread":1}`
    expect(problems('cut.jsonl', `${row(0)}\n{"offset":1,"site":\n${row(2)}\n`)).toEqual([`6:15 fleets[0].registry: ${at('cut.jsonl')}:2: not valid JSON (Unexpected end of JSON input)`])
    expect(problems('key.jsonl', `${row(0)}\n${row(1)}\n{offset: 2}\n`)).toEqual([`6:15 fleets[0].registry: ${at('key.jsonl')}:3:2: not valid JSON (Expected property name or '}')`])
    expect(problems('array.jsonl', `${row(0)}\n[1, 2]\n${row(2)}\n`)).toEqual([`6:15 fleets[0].registry: ${at('array.jsonl')}:2: a JSON line must be an object ({"column": value, ...}), not an array`])
  })

  it('a cell that is no number where a field needs one: the table\'s file and line, the column and the cell', () => {
    // It said "column "offset" of the registry is not a number for device index 1 ("high")": no file, no line.
    const found = problems('words.csv', `${HEADER}1,a,x,1\n\n2,b,y,1\nhigh,c,z,1\n`)
    expect(found).toEqual([`14:33 fleets[0].fields.v.mean: ${at('words.csv')}:5: the "offset" cell of device index 2 is "high", not a number, so it cannot stand for mean`])
  })

  it('a row for a device index past the fleet is refused at its line, as a missing one is', () => {
    // Row 99 of a 3-device fleet linted ok and was never mentioned.
    expect(problems('extra.csv', `index,${HEADER}0,1,a,x,1\n1,2,b,y,1\n2,3,c,z,1\n99,4,d,w,1\n`)).toEqual([
      `6:15 fleets[0].registry: ${at('extra.csv')}:5: index 99 is past the fleet's 3 devices (indexes 0 to 2): raise count, or leave the rows past index 2 out of the table`,
    ])
    // Rows without an index column go to devices in order: a fourth row and a fifth are two past the fleet.
    expect(problems('long.jsonl', [0, 1, 2, 3, 4].map((k) => `{"offset":${k},"site":"s${k}","fw":"a","spread":1}`).join('\n'))).toEqual([
      `6:15 fleets[0].registry: ${at('long.jsonl')}:4: index 3 is past the fleet's 3 devices (indexes 0 to 2), and so is 1 more row: raise count, or leave the rows past index 2 out of the table`,
    ])
    expect(problems('exact.csv', `index,${HEADER}2,3,c,z,1\n0,1,a,x,1\n1,2,b,y,1\n`)).toEqual([])
  })

  it('a device index that appears twice is said so, with both lines', () => {
    // It said "has no row for device index 2".
    expect(problems('twice.csv', `index,${HEADER}0,1,a,x,1\n1,2,b,y,1\n1,3,c,z,1\n`)).toEqual([`6:15 fleets[0].registry: ${at('twice.csv')}:4: index 1 appears twice (lines 3 and 4); each device has one row`])
  })

  it('a header written with spaces after its commas names the columns without them', () => {
    // "offset, site" named the columns " offset" and " site": every use of them was an unknown param or placeholder
    // ("unknown param "offset" (did you mean " offset"?)").
    expect(problems('spaces.csv', 'offset, site, fw, spread\n1,north,a,1\n 2 ,south,b,1\n3,west,c,1\n')).toEqual([])
    const s = loadScenario(at('plant.yaml'), {text: SCENARIO('spaces.csv')})
    expect(expandDevices(s).map((d) => d.params!.site)).toEqual(['north', 'south', 'west'])
    // A number cell's spaces are no doubt (" 2 " stands for 2 where a number is needed); a text cell keeps its own.
    expect(expandDevices(s).map((d) => JSON.parse(createDeviceModel(s, d).sample(0, FROM).payload!).fw)).toEqual(['a', 'b', 'c'])
  })

  it('a table separated by semicolons (or tabs) is said so once, at its header', () => {
    // It was read as one column "offset;site;fw;spread": an unknown param and an unknown placeholder for each use.
    expect(problems('semi.csv', 'offset;site;fw;spread\n1;north;a;1\n2;south;b;1\n3;west;c;1\n')).toEqual([
      `6:15 fleets[0].registry: ${at('semi.csv')}:1: the header is one column "offset;site;fw;spread": the table must be comma-separated, not semicolon-separated (a spreadsheet's "CSV (comma delimited)")`,
    ])
    expect(problems('tabs.csv', 'offset\tsite\tfw\tspread\n1\tnorth\ta\t1\n')).toEqual([
      `6:15 fleets[0].registry: ${at('tabs.csv')}:1: the header is one column "offset\\tsite\\tfw\\tspread": the table must be comma-separated, not tab-separated (a spreadsheet's "CSV (comma delimited)")`,
    ])
  })

  it('a column named twice in the header is refused', () => {
    // The last of the two won silently, and the column it stood in for was unknown wherever it was used.
    expect(problems('twice-col.csv', 'offset,site,fw,spread,site\n1,north,a,1,x\n2,south,b,1,y\n3,west,c,1,z\n')).toEqual([`6:15 fleets[0].registry: ${at('twice-col.csv')}:1: column "site" appears twice`])
    expect(problems('twice-trim.csv', 'offset, site,fw,spread,site \n1,north,a,1,x\n')).toEqual([`6:15 fleets[0].registry: ${at('twice-trim.csv')}:1: column "site" appears twice`])
  })

  it('only decimal text is a number: "0x10" or "0b11" in a cell is not', () => {
    // They were read as 16 and 3.
    expect(problems('hex.csv', `${HEADER}1.5e1,a,x,1\n0x10,b,y,1\n-.5,c,z,1\n`)).toEqual([
      `14:33 fleets[0].fields.v.mean: ${at('hex.csv')}:3: the "offset" cell of device index 1 is "0x10", not a number, so it cannot stand for mean`,
    ])
    const row = (k: number, offset: string) => `{"offset":${JSON.stringify(offset)},"site":"s${k}","fw":"a","spread":1}`
    expect(problems('bin.jsonl', `${row(0, '1')}\n${row(1, '2')}\n${row(2, '0b11')}\n`)).toEqual([
      `14:33 fleets[0].fields.v.mean: ${at('bin.jsonl')}:3: the "offset" cell of device index 2 is "0b11", not a number, so it cannot stand for mean`,
    ])
  })

  it('JSON true and false stay booleans', () => {
    // They became the text "true" and "false", so iotd sim registry wrote "true" where the table had true.
    writeFileSync(at('flags.jsonl'), [0, 1, 2].map((k) => `{"offset":${k},"site":"s","fw":"a","spread":1,"on":${k !== 1}}`).join('\n'))
    const s = loadScenario(at('plant.yaml'), {text: SCENARIO('flags.jsonl')})
    expect(expandDevices(s).map((d) => d.params!.on)).toEqual([true, false, true])
    expect(expandDevices(s).map((d) => d.vars['params.on'])).toEqual(['true', 'false', 'true'])
  })
})
