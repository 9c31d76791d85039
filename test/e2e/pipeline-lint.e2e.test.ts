/**
 * `iotd pipeline lint` on malformed and suspicious pipelines (issue #16, acceptance 3): each file under
 * test/fixtures/lint/ gives exactly one clear `file:line:col` error, with a did-you-mean where one helps, and lint
 * exits 1. Also: every problem in one pass, and numbers where the docs write numbers.
 */
import {mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {ConfigError, formatProblem} from '../../src/errors.js'
import {loadPipeline} from '../../src/pipeline/index.js'
import {runCli} from '../helpers/cli.js'

const DIR = 'test/fixtures/lint'

/** file -> the one error it must give: position and what the message must say. */
const CASES: Record<string, string> = {
  'aggregate-in-where': "6:39: rule rule1: aggregate avg() is not allowed in WHERE: WHERE filters single events; use HAVING",
  'aggregate-without-window': '6:17: rule rule1: aggregate avg() needs a window',
  'alias-in-where': "6:60: rule rule1: 'fahrenheit' is an alias from the SELECT list; WHERE runs before SELECT",
  'cast-unknown-type': "6:17: rule rule1: cast: unknown type 'integr'",
  'changed-cols-with-alias': '6:17: rule rule1: changed_cols() returns several columns: name them with its prefix argument, not AS',
  'empty-sql': '6:10: rules[0].sql: sql is empty: write a rule like SELECT * FROM <source>',
  'double-quoted-field': '6:39: rule rule1: "temperature" is a string in eKuiper SQL, not the field temperature: write temperature',
  'limit-without-window': '6:45: rule rule1: LIMIT needs a window',
  'misspelt-keyword': "6:10: rule rule1: expected SELECT, found 'SELEC'; did you mean SELECT?",
  'misspelt-window': '6:68: rule rule1: unknown function tumblingwindw(); did you mean the window TUMBLINGWINDOW(unit, size)?',
  'order-by-without-window': '6:38: rule rule1: ORDER BY needs a window',
  'partition-on-a-scalar-function': '6:17: rule rule1: OVER (PARTITION BY … WHEN …) applies to analytic functions',
  'syntax-error': "6:41: rule rule1: expected an expression after '>', found end of input",
  'text-arithmetic': "6:17: rule rule1: '+' works on numbers, not the text 'id-'; use concat()",
  'unknown-function-by-meaning': '6:17: rule rule1: unknown function stdev(); did you mean stddev()?',
  'unknown-function-topic': '6:17: rule rule1: unknown function topic(); did you mean meta(topic)?',
  'unknown-function-typo': '6:17: rule rule1: unknown function lenght(); did you mean length()?',
  'unknown-meta-key': "6:17: rule rule1: unknown metadata 'topik'; did you mean meta(topic)?",
  'unknown-rule-key': '7:5: unknown key "lateTolerence" in rules[0]; did you mean "lateTolerance"?',
  'unknown-sink-option-value': '7:36: rules[0].sinks[0].format: unknown format "tabel"; did you mean table? (one of ndjson, table)',
  'unknown-sink-type': '7:20: rules[0].sinks[0].type: unknown sink type "postgress"; did you mean "postgres"?',
  'unknown-source-in-from': "6:27: rule rule1: unknown source 'telemetri'; did you mean 'telemetry'?",
  'unknown-source-option': '4:34: sources.s: unknown key "timeColum"; did you mean "timeColumn"?',
  'unknown-source-type': '4:13: sources.s.type: unknown source type "mqqt"; did you mean "mqtt"?',
  'unknown-table': "7:29: rule rule1: unknown table 'registri'; did you mean 'registry'?",
  'unknown-time-unit': "6:62: rule rule1: unknown time unit 'sec'",
  'unnest-in-where': '6:32: rule rule1: unnest() returns several rows: use it as a whole SELECT column',
  'wrong-table-column': "7:68: rule rule1: table registry has no column 'deviceid'; did you mean r.deviceId? (columns: deviceId, site, maxTemp)",
  'zscore-warm-up-longer-than-window': '6:17: rule rule1: zscore: minSamples (20) cannot exceed n (10)',
}

const tmp = mkdtempSync(join(tmpdir(), 'sql-lint-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

describe('iotd pipeline lint: one clear file:line:col message per malformed or suspicious file', () => {
  it('has a case for every fixture (at least 20)', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.replace(/\.yaml$/, '')).sort()
    expect(files).toEqual(Object.keys(CASES).sort())
    expect(files.length).toBeGreaterThanOrEqual(20)
  })

  // The lines `iotd pipeline lint` prints for a file's errors: loadPipeline's problems through formatProblem, in
  // process for every fixture (a CLI start costs seconds on a loaded machine) …
  it.each(Object.entries(CASES))('%s', (name, message) => {
    const file = `${DIR}/${name}.yaml`
    let errors: string[] = []
    try {
      loadPipeline(file)
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      errors = error.problems.map((p) => formatProblem(p).split('\n')[0])
    }
    expect(errors).toEqual([expect.stringContaining(`${file}:${message}`)])
  })

  // … and through the CLI for a few: exit 1, the same line, no stack trace.
  it.each(['wrong-table-column', 'alias-in-where', 'double-quoted-field', 'unknown-function-by-meaning'])('iotd pipeline lint %s exits 1', async (name) => {
    const file = `${DIR}/${name}.yaml`
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code).toBe(1)
    const errors = r.stdout.split('\n').filter((l) => l.startsWith(`${file}:`) && !l.includes(': warning: '))
    expect(errors).toEqual([expect.stringContaining(`${file}:${CASES[name]}`)])
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('reports every problem in one pass: a wrong version does not hide a bad source type or an unknown key', async () => {
    const file = join(tmp, 'many.yaml')
    writeFileSync(file, 'version: 2\nsources:\n  s: {type: mqqt, url: "mqtt://127.0.0.1:1883"}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: stdout, formt: ndjson}]\n')
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(`${file}:1:10: version:`)
    expect(r.stdout).toContain(`${file}:3:13: sources.s.type: unknown source type "mqqt"; did you mean "mqtt"?`)
    expect(r.stdout).toContain(`${file}:6:28: rules[0].sinks[0]: unknown key "formt"; did you mean "format"?`)
  })

  it('takes numbers where the docs write numbers: protocol: 5', async () => {
    const file = join(tmp, 'v5.yaml')
    writeFileSync(file, 'version: 1\nsources:\n  s: {type: mqtt, url: "mqtt://127.0.0.1:1883", protocol: 5}\nrules:\n  - sql: SELECT a FROM s\n    sinks: [{type: mqtt, url: "mqtt://127.0.0.1:1883", topic: out, protocol: 5}]\n')
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.stdout).toContain(`${file}: ok`)
    expect(r.code).toBe(0)
  })
})

/**
 * What `pipeline run` refuses before it connects, `pipeline lint` refuses too, by the same check (the components'
 * option schemas and check(), net/url-check.ts): every connector's URL shape, scheme, host and port, and the TLS
 * files an mqtts:// connection reads. Each problem at the value's file:line:col, the password masked, a did-you-mean
 * where the slip is plain. Nothing here reaches a network.
 */
describe('iotd pipeline lint refuses the connector settings pipeline run refuses before connecting', () => {
  const SECRET = 'Sekr3tPw'
  /** One kind of connector: how an entry with a given URL is written, and malformed URLs with what lint must say. */
  const KINDS: Record<string, {entry: (url: string) => string; bad: Array<[string, string]>}> = {
    'mqtt source': {
      entry: (url) => `  src: {type: mqtt, url: "${url}", topics: [a/#]}`,
      bad: [
        ['mqtt//localhost:1883', '"mqtt//localhost:1883" is not a broker URL: it does not start with mqtt://, mqtts://, ws:// or wss://; did you mean "mqtt://localhost:1883"?'],
        [`mqtt://u:${SECRET}@`, '"mqtt://u:***@" is not a broker URL: it names no host'],
        ['mqtt://host:99999', '"mqtt://host:99999" is not a broker URL: port 99999 is out of range (1-65535)'],
        ['tcp:/host', '"tcp:/host" is not a broker URL: it does not start with mqtt://, mqtts://, ws:// or wss://; did you mean "tcp://host"?'],
        [`mqqt://u:${SECRET}@host`, '"mqqt://u:***@host" has an unsupported scheme "mqqt:"; did you mean "mqtt://u:***@host"?'],
        ['kafka://host:9092', '"kafka://host:9092" has an unsupported scheme "kafka:"'],
      ],
    },
    'mqtt sink': {
      entry: (url) => `      - {type: mqtt, url: "${url}", topic: out}`,
      bad: [
        [`mqtt://u:${SECRET}@host:0`, '"mqtt://u:***@host:0" is not a broker URL: port 0 is out of range (1-65535)'],
        [`mqtt://u:${SECRET}/x@host`, 'is not a broker URL: an @ follows a /, ? or #'],
        ['wss//broker.example/mqtt', 'did you mean "wss://broker.example/mqtt"?'],
      ],
    },
    'nats source': {
      entry: (url) => `  src: {type: nats, url: "${url}", stream: S, consumer: c}`,
      bad: [
        ['nats//localhost:4222', '"nats//localhost:4222" is not a NATS server: it does not start with nats:// or tls://; did you mean "nats://localhost:4222"?'],
        [`nats://u:${SECRET}@`, '"nats://u:***@" is not a NATS server: it names no host'],
        ['nats://host:99999', 'port 99999 is out of range (1-65535)'],
        ['ws://host:4222', '"ws://host:4222" is not a NATS server: the Node client does not speak WebSocket'],
      ],
    },
    'nats sink': {
      entry: (url) => `      - {type: nats, url: "${url}", subject: out}`,
      bad: [
        ['natss://host', '"natss://host" has an unsupported scheme "natss:"; did you mean "nats://host"?'],
        ['h1:4222,,h2:4222', '"h1:4222,,h2:4222" names an empty NATS server (a stray comma?)'],
      ],
    },
    influxdb: {
      entry: (url) => `      - {type: influxdb, url: "${url}", database: d, measurement: m}`,
      bad: [
        ['http//127.0.0.1:8086', '"http//127.0.0.1:8086" is not an InfluxDB URL: it does not start with http:// or https://; did you mean "http://127.0.0.1:8086"?'],
        [`http://u:${SECRET}@`, '"http://u:***@" is not an InfluxDB URL: it names no host'],
        ['https://influx:70000', 'port 70000 is out of range (1-65535)'],
      ],
    },
    http: {
      entry: (url) => `      - {type: http, url: "${url}"}`,
      bad: [
        [`htp://u:${SECRET}@host/ingest`, '"htp://u:***@host/ingest" has an unsupported scheme "htp:"; did you mean "http://u:***@host/ingest"?'],
        [`http://u:${SECRET}@:8080`, 'is not an HTTP endpoint: it names no host'],
        ['http://host:99999/ingest', 'port 99999 is out of range (1-65535)'],
      ],
    },
    postgres: {
      entry: (url) => `      - {type: postgres, url: "${url}", table: t}`,
      bad: [
        [`postgres//iot:${SECRET}@db/telemetry`, 'is not a PostgreSQL URL: it does not start with postgres:// or postgresql://; did you mean "postgres://iot:***@db/telemetry"?'],
        [`postgresql://iot:${SECRET}@db:65536/telemetry`, '"postgresql://iot:***@db:65536/telemetry" is not a PostgreSQL URL: port 65536 is out of range (1-65535)'],
        [`mysql://iot:${SECRET}@db/telemetry`, 'has an unsupported scheme "mysql:"'],
      ],
    },
  }

  /** A pipeline with every malformed URL of a kind, one entry each, and where each URL's value starts. */
  function pipelineOf(kind: string, urls: string[]): {text: string; at: Array<{line: number; col: number}>} {
    const k = KINDS[kind]
    const isSource = kind.endsWith('source')
    const lines = ['version: 1', 'sources:']
    const at: Array<{line: number; col: number}> = []
    const mark = (line: string) => {
      lines.push(line)
      at.push({line: lines.length, col: line.indexOf('url: "') + 6})
    }
    if (isSource) urls.forEach((u, i) => mark(k.entry(u).replace('src:', `src${i}:`)))
    else lines.push('  s: {type: stdin}')
    lines.push('rules:')
    if (isSource) {
      urls.forEach((_, i) => lines.push(`  - sql: SELECT a FROM src${i}`, '    sinks: [{type: stdout}]'))
    } else {
      lines.push('  - sql: SELECT a FROM s', '    sinks:')
      for (const u of urls) mark(k.entry(u))
    }
    return {text: `${lines.join('\n')}\n`, at}
  }

  it.each(Object.keys(KINDS))('%s: every malformed URL at its file:line:col, the password masked, exit 1', async (kind) => {
    const {bad} = KINDS[kind]
    const file = join(tmp, `bad-${kind.replace(' ', '-')}.yaml`)
    const {text, at} = pipelineOf(kind, bad.map(([u]) => u))
    writeFileSync(file, text)
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code, r.stdout + r.stderr).toBe(1)
    const errors = r.stdout.split('\n').filter((l) => l.startsWith(`${file}:`))
    expect(errors).toHaveLength(bad.length)
    bad.forEach(([, message], i) => expect(errors[i], `${bad[i][0]}`).toMatch(new RegExp(`^${escape(`${file}:${at[i].line}:${at[i].col}: `)}\\S+\\.url: .*${escape(message)}`)))
    expect(r.stdout + r.stderr).not.toContain(SECRET)
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })

  it('pipeline run refuses the same file with the same lines, exit 2, before connecting', async () => {
    const {bad} = KINDS['mqtt source']
    const file = join(tmp, 'run-bad-mqtt.yaml')
    const {text} = pipelineOf('mqtt source', bad.map(([u]) => u))
    writeFileSync(file, text)
    const lint = await runCli(['pipeline', 'lint', file])
    const run = await runCli(['pipeline', 'run', file, '--no-state', '--quiet'])
    expect(run.code, run.stderr).toBe(2)
    const lintLines = lint.stdout.split('\n').filter((l) => l.startsWith(`${file}:`))
    expect(lintLines).toHaveLength(bad.length)
    for (const l of lintLines) expect(run.stderr).toContain(l)
    expect(run.stdout + run.stderr).not.toContain(SECRET)
    expect(run.stderr).not.toMatch(/\n\s+at /)
  })

  it('mqtts:// reads its TLS files before connecting: a missing one is an error at its key; mqtt:// reads none', async () => {
    const ca = join(tmp, 'ca.pem')
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    const file = join(tmp, 'tls.yaml')
    const lines = [
        'version: 1',
        'sources:',
        `  a: {type: mqtt, url: "mqtts://u:${SECRET}@broker.example:8883", tls: {ca: ca.pem, cert: missing-cert.pem, key: missing-key.pem}}`,
        '  b: {type: mqtt, url: "mqtt://broker.example:1883", tls: {ca: not-read.pem}}',
        'rules:',
        '  - sql: SELECT x FROM a',
        '    sinks: [{type: mqtt, url: "wss://broker.example/mqtt", topic: out, tls: {ca: no-ca.pem}}]',
        '  - sql: SELECT x FROM b',
        '    sinks: [{type: stdout}]',
        '',
      ]
    writeFileSync(file, lines.join('\n'))
    const at = (name: string) => {
      const line = lines.findIndex((l) => l.includes(name))
      return `${line + 1}:${lines[line].indexOf(name) + 1}`
    }
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code, r.stdout + r.stderr).toBe(1)
    const errors = r.stdout.split('\n').filter((l) => l.startsWith(`${file}:`))
    expect(errors).toEqual([
      `${file}:${at('missing-cert.pem')}: sources.a.tls.cert: cannot read the TLS certificate file ${join(tmp, 'missing-cert.pem')} (ENOENT)`,
      `${file}:${at('missing-key.pem')}: sources.a.tls.key: cannot read the TLS key file ${join(tmp, 'missing-key.pem')} (ENOENT)`,
      `${file}:${at('no-ca.pem')}: rules[0].sinks[0].tls.ca: cannot read the TLS CA file ${join(tmp, 'no-ca.pem')} (ENOENT)`,
    ])
    expect(r.stdout + r.stderr).not.toContain(SECRET)
  })

  it('a refused url or other option does not hide the TLS files: both problems in one pass, each at its place', async () => {
    const file = join(tmp, 'tls-and-url.yaml')
    const lines = [
      'version: 1',
      'sources:',
      `  a: {type: mqtt, url: "mqtts//u:${SECRET}@broker.example:8883", tls: {ca: a-ca.pem}}`,
      '  b: {type: mqtt, url: "mqtt://broker.example:1883", qos: 3, tls: {ca: b-not-read.pem}}',
      'rules:',
      '  - sql: SELECT x FROM a',
      '    sinks: [{type: mqtt, url: "mqqt://broker.example", topic: out, tls: {cert: c-cert.pem}}]',
      '  - sql: SELECT x FROM b',
      '    sinks: [{type: mqtt, url: "wss://broker.example/mqtt", topic: out, qos: 7, tls: {key: d-key.pem}}]',
      '',
    ]
    writeFileSync(file, lines.join('\n'))
    const at = (text: string) => {
      const line = lines.findIndex((l) => l.includes(text))
      return `${line + 1}:${lines[line].indexOf(text) + 1}`
    }
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.code, r.stdout + r.stderr).toBe(1)
    const errors = r.stdout.split('\n').filter((l) => l.startsWith(`${file}:`))
    expect(errors.map((l) => l.replace(/(: [^:]+: ).*$/, '$1'))).toEqual([
      `${file}:${at('"mqtts//')}: sources.a.url: `,
      `${file}:${at('a-ca.pem')}: sources.a.tls.ca: `,
      `${file}:${at('3,')}: sources.b.qos: `,
      `${file}:${at('"mqqt:')}: rules[0].sinks[0].url: `,
      `${file}:${at('c-cert.pem')}: rules[0].sinks[0].tls.cert: `,
      `${file}:${at('7,')}: rules[1].sinks[0].qos: `,
      `${file}:${at('d-key.pem')}: rules[1].sinks[0].tls.key: `,
    ])
    expect(errors[1]).toContain(`cannot read the TLS CA file ${join(tmp, 'a-ca.pem')} (ENOENT)`)
    expect(errors[4]).toContain(`cannot read the TLS certificate file ${join(tmp, 'c-cert.pem')} (ENOENT)`)
    expect(errors[6]).toContain(`cannot read the TLS key file ${join(tmp, 'd-key.pem')} (ENOENT)`)
    expect(r.stdout + r.stderr).not.toContain(SECRET)
  })

  it('a valid file with every connector kind still passes', async () => {
    writeFileSync(join(tmp, 'ok-ca.pem'), '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')
    const file = join(tmp, 'ok.yaml')
    writeFileSync(
      file,
      [
        'version: 1',
        'sources:',
        '  m: {type: mqtt, url: "mqtts://u:pw@[::1]:8883", tls: {ca: ok-ca.pem}, topics: [a/#]}',
        '  n: {type: nats, url: "nats://127.0.0.1:4222,tls://h2:4223,h3", stream: S, consumer: c}',
        'rules:',
        '  - sql: SELECT a FROM m',
        '    sinks:',
        '      - {type: mqtt, url: "ws://127.0.0.1/mqtt", topic: out}',
        '      - {type: nats, url: "localhost:4222", subject: out}',
        '      - {type: influxdb, url: "http://127.0.0.1:8086", database: d, measurement: m}',
        '      - {type: http, url: "https://host/ingest?email=a@b.example"}',
        '      - {type: postgres, url: "postgres:///telemetry", table: t}',
        '      - {type: postgres, url: "postgresql://iot@127.0.0.1:5432/telemetry", table: t2}',
        '  - sql: SELECT a FROM n',
        '    sinks: [{type: stdout}]',
        '',
      ].join('\n'),
    )
    const r = await runCli(['pipeline', 'lint', file])
    expect(r.stdout).toContain(`${file}: ok`)
    expect(r.code, r.stdout + r.stderr).toBe(0)
  })
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
