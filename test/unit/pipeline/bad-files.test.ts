/**
 * Acceptance 4: malformed pipeline files and SQL give one clear error each, at file:line:col.
 */
import {mkdtempSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ConfigError} from '../../../src/errors.js'
import {loadPipeline} from '../../../src/pipeline/index.js'

const dir = mkdtempSync(join(tmpdir(), 'iotd-bad-'))
writeFileSync(join(dir, 'devices.csv'), 'id,site\na,north\n')
writeFileSync(join(dir, 'broken.json'), '{"not": "an array"}')

const head = 'version: 1\nsources:\n  s: {type: stdin, timestamp: ts}\n'
const rule = (sql: string, extra = '') => `${head}rules:\n  - sql: ${sql}\n${extra}    sinks: [{type: stdout}]\n`

/** [name, file text, line, col, message fragment] */
const CASES: [string, string, number, number, string][] = [
  ['YAML syntax', 'version: 1\nsources: {s: {type: stdin}\nrules: []\n', 3, 1, 'YAML syntax error'],
  ['empty file', '', 1, 1, 'empty'],
  ['wrong version', 'version: 2\nsources: {s: {type: stdin}}\nrules: [{sql: SELECT a FROM s}]\n', 1, 10, 'version'],
  ['missing sources', 'version: 1\nrules: [{sql: SELECT a FROM s}]\n', 1, 1, 'missing required key "sources"'],
  ['no rules', `${head}rules: []\n`, 4, 1, 'at least one rule'],
  ['unknown top-level key', `${head}rule: []\nrules: [{sql: SELECT a FROM s}]\n`, 4, 1, 'unknown key "rule"'],
  ['unknown source type', 'version: 1\nsources:\n  s: {type: kafka}\nrules: [{sql: SELECT a FROM s}]\n', 3, 13, 'unknown source type "kafka"'],
  ['unknown source option', 'version: 1\nsources:\n  s: {type: stdin, fromat: csv}\nrules: [{sql: SELECT a FROM s}]\n', 3, 20, 'unknown key "fromat"'],
  ['bad source option value', 'version: 1\nsources:\n  s: {type: stdin, format: xml}\nrules: [{sql: SELECT a FROM s}]\n', 3, 28, 'sources.s.format'],
  ['missing file path', 'version: 1\nsources:\n  s: {type: file}\nrules: [{sql: SELECT a FROM s}]\n', 3, 3, 'missing required key "path"'],
  ['bad source name', 'version: 1\nsources:\n  "my source": {type: stdin}\nrules: [{sql: SELECT a FROM s}]\n', 3, 3, 'letters, digits'],
  ['unknown sink type', rule('SELECT a FROM s').replace('{type: stdout}', '{type: kafka}'), 6, 20, 'unknown sink type "kafka"'],
  ['bad sink option', rule('SELECT a FROM s').replace('{type: stdout}', '{type: stdout, format: xml}'), 6, 36, 'format'],
  ['bad batch', rule('SELECT a FROM s').replace('{type: stdout}', '{type: stdout, batch: {count: 0}}'), 6, 43, 'batch.count'],
  ['bad duration', rule('SELECT a FROM s', '    lateTolerance: 5 parsecs\n'), 6, 20, 'not a duration'],
  ['missing sql', `${head}rules:\n  - name: x\n`, 5, 5, 'missing required key "sql"'],
  ['SQL: missing expression', rule('SELECT a FROM s WHERE temp >'), 5, 38, "expected an expression after '>'"],
  ['SQL: misspelt keyword', rule('SELECT a FORM s'), 5, 19, 'expected'],
  ['SQL: unknown function', rule('SELECT avgg(a) FROM s GROUP BY TUMBLINGWINDOW(ss, 10)'), 5, 17, 'avgg'],
  ['SQL: unknown source', rule('SELECT a FROM t'), 5, 24, "'t'"],
  ['SQL: aggregate without window', rule('SELECT avg(a) FROM s'), 5, 17, 'needs a window'],
  ['SQL: bad window unit', rule('SELECT count(*) FROM s GROUP BY TUMBLINGWINDOW(yy, 10)'), 5, 57, "unknown time unit 'yy'"],
  ['SQL: block scalar position', `${head}rules:\n  - sql: |\n      SELECT a\n      FROM s\n      WHERE a >> 1\n    sinks: [{type: stdout}]\n`, 8, 16, 'expected'],
  ['SQL: quoted scalar position', rule('"SELECT a FROM s WHERE a = \'x"'), 5, 37, 'string'],
  ['SQL: join unknown table', rule('SELECT a FROM s LEFT JOIN devics d ON s.id = d.id'), 5, 26, 'devics'],
  ['table file missing', `${head}tables: {devices: {file: nope.csv}}\nrules: [{sql: SELECT a FROM s}]\n`, 4, 26, 'file not found'],
  ['table not an array', `${head}tables: {devices: {file: broken.json}}\nrules: [{sql: SELECT a FROM s}]\n`, 4, 26, 'array of objects'],
  ['bad JSONata map', rule('SELECT a FROM s', "    map: '{\"a\": '\n"), 6, 10, 'map'],
  ['bad reject condition', rule('SELECT a FROM s', '    reject: a >\n'), 6, 16, 'reject'],
  ['duplicate rule names', `${head}rules:\n  - {name: x, sql: SELECT a FROM s}\n  - {name: x, sql: SELECT a FROM s}\n`, 6, 12, 'used by another rule'],
  ['registry topic with {column} (the syntax before record templates)', 'version: 1\nsources:\n  r: {type: registry, path: devices.csv, topic: "fleet/{deviceId}/registered"}\nrules: [{sql: SELECT a FROM r}]\n', 3, 49, 'written ${column}'],
  ['unset env variable', 'version: 1\nsources:\n  s: {type: file, path: "${env:IOTD_TEST_NOT_SET_ANYWHERE}"}\nrules: [{sql: SELECT a FROM s}]\n', 3, 25, 'IOTD_TEST_NOT_SET_ANYWHERE'],
]

describe('malformed pipeline files', () => {
  it(`has at least 25 cases (${CASES.length})`, () => expect(CASES.length).toBeGreaterThanOrEqual(25))
  for (const [name, text, line, col, fragment] of CASES) {
    it(`${name}: one error at ${line}:${col}`, () => {
      const file = join(dir, 'bad.yaml')
      let error: unknown
      try {
        loadPipeline(file, {text, env: {}})
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(ConfigError)
      const problems = (error as ConfigError).problems
      expect(problems.length, JSON.stringify(problems)).toBe(1)
      const first = problems[0]
      expect(first.message).toContain(fragment)
      expect({line: first.line, col: first.col}).toEqual({line, col})
      expect((error as ConfigError).message.split('\n')[0]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${line}:${col}: `))
    })
  }
})

describe('SQL errors show the rule line with a caret', () => {
  it('points past the last character for "end of input" in a block scalar, not at its trailing newline', () => {
    const text = `${head}rules:\n  - sql: |\n      SELECT a\n      FROM s WHERE temp >\n`
    let error: ConfigError | undefined
    try {
      loadPipeline(join(dir, 'caret.yaml'), {text})
    } catch (e) {
      error = e as ConfigError
    }
    expect(error?.problems[0]).toMatchObject({line: 7, col: 26})
    expect(error?.message.split('\n').slice(1)).toEqual(['    FROM s WHERE temp >', '                       ^'])
  })
})
