import {describe, expect, it} from 'vitest'
import {z} from 'zod'
import {loadYamlConfig} from '../../../src/config/yaml-loader.js'
import {ConfigError} from '../../../src/errors.js'

const schema = z.strictObject({
  version: z.literal(1),
  name: z.string(),
  broker: z.strictObject({url: z.string(), password: z.string().optional()}).optional(),
  items: z.array(z.strictObject({n: z.number()})).optional(),
})

function problems(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    loadYamlConfig('f.yaml', schema, {text, env})
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return (error as ConfigError).message.split('\n')
  }
  throw new Error('expected a ConfigError')
}

describe('loadYamlConfig', () => {
  it('returns the validated value', () => {
    expect(loadYamlConfig('f.yaml', schema, {text: 'version: 1\nname: a\n'}).value).toEqual({version: 1, name: 'a'})
  })

  it('points a YAML syntax error at its line and column', () => {
    expect(problems('version: 1\nname: [a, b\n')[0]).toMatch(/^f\.yaml:3:1: YAML syntax error/)
  })

  it('points a quote that is never closed at the line and column where it opens', () => {
    // It said 'f.yaml:5:1: YAML syntax error: Missing closing "quote': the end of the file, lines below the slip.
    const never = (q: string) => `this ${q} quote is never closed: the string it opens runs to the end of the file (close it with ${q} where it should end)`
    expect(problems('version: 1\nname: "x/{deviceId}\nitems: []\n')).toEqual([`f.yaml:2:7: YAML syntax error: ${never('"')}`])
    expect(problems("version: 1\nname: a\nbroker:\n  url: 'mqtt://h\n  password: p\n")).toEqual([`f.yaml:4:8: YAML syntax error: ${never("'")}`])
    // Quoted strings before it, one of them over two lines, do not mislead it; nor does an escaped quote in it.
    expect(problems('version: 1\nname: "a \\"b\\"\nbroker: {url: "ok\n  still ok", password: "open}\n')).toEqual([`f.yaml:4:24: YAML syntax error: ${never('"')}`])
    // Inside a list: the unclosed [ around it is the same slip, said once.
    expect(problems('version: 1\nname: a\nitems: [1, "x\n')).toEqual([`f.yaml:3:12: YAML syntax error: ${never('"')}`])
  })

  it('reports duplicate keys', () => {
    expect(problems('version: 1\nname: a\nname: b\n')[0]).toMatch(/^f\.yaml:3:1: YAML syntax error: .*[Uu]nique/)
  })

  it('points an unknown key at the key itself, naming where it is, with the nearest known key', () => {
    expect(problems('version: 1\nname: a\nbroker:\n  url: x\n  passwrd: y\n')).toEqual(['f.yaml:5:3: unknown key "passwrd" in broker; did you mean "password"?'])
  })

  it('points a wrong type at the value, inside arrays too', () => {
    expect(problems('version: 1\nname: a\nitems:\n  - n: 1\n  - n: two\n')[0]).toMatch(/^f\.yaml:5:8: items\[1\]\.n: /)
  })

  it('names a missing key at its parent', () => {
    expect(problems('version: 1\nbroker:\n  url: x\n')).toEqual(['f.yaml:1:1: missing required key "name"'])
  })

  it('lists every problem, sorted by position, one per line', () => {
    const lines = problems('version: 2\nname: 3\nextra: true\n')
    expect(lines).toHaveLength(3)
    expect(lines.map((l) => l.split(':').slice(1, 3).join(':'))).toEqual(['1:10', '2:7', '3:1'])
  })

  it('interpolates ${env:NAME} with defaults and reports a missing variable where it is used', () => {
    const text = 'version: 1\nname: ${env:SITE:-plant}\nbroker:\n  url: mqtt://h\n  password: ${env:PW}\n'
    expect(loadYamlConfig('f.yaml', schema, {text, env: {PW: 's3cret'}}).value.broker?.password).toBe('s3cret')
    expect(loadYamlConfig('f.yaml', schema, {text, env: {PW: 's3cret'}}).value.name).toBe('plant')
    expect(problems(text)).toEqual(['f.yaml:5:13: environment variable PW is not set (referenced as ${env:PW})'])
  })

  it('says so for an empty file and a missing one', () => {
    expect(problems('')).toEqual(['f.yaml:1:1: the file is empty'])
    expect(() => loadYamlConfig('/nonexistent/x.yaml', schema)).toThrow(/x\.yaml: file not found/)
  })
})
