import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {describe, it} from 'vitest'

/**
 * The independent Sparkplug B peer: Debian's protoc compiles test/fixtures/sparkplug/sparkplug_b.proto (written from
 * the specification) for Debian's python3-protobuf, and sparkplug_peer.py decodes iotd's payloads and encodes its own.
 * Missing tools: the suite fails under CI=true and is skipped with a notice elsewhere.
 */

const FIXTURES = fileURLToPath(new URL('../fixtures/sparkplug/', import.meta.url))
const PYTHON = '/usr/bin/python3'

export function sparkplugPeerAvailable(): boolean {
  const protoc = spawnSync('protoc', ['--version'], {stdio: 'ignore'}).status === 0
  const pyProtobuf = spawnSync(PYTHON, ['-c', 'import google.protobuf'], {stdio: 'ignore'}).status === 0
  return protoc && pyProtobuf
}

export function describeSparkplugPeer(name: string, fn: () => void): void {
  if (sparkplugPeerAvailable()) describe(name, fn)
  else if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs protoc and python3-protobuf', () => {
        throw new Error('protoc or python3-protobuf is missing, and CI=true: apt-get install protobuf-compiler python3-protobuf')
      })
    })
  } else {
    process.stderr.write(`NOTICE: skipping "${name}": protoc or python3-protobuf not found (apt-get install protobuf-compiler python3-protobuf)\n`)
    describe.skip(name, fn)
  }
}

let compiled: string | undefined
function pb2Dir(): string {
  if (compiled) return compiled
  const dir = mkdtempSync(join(tmpdir(), 'edge-spb-pb2-'))
  execFileSync('protoc', [`--proto_path=${FIXTURES}`, `--python_out=${dir}`, join(FIXTURES, 'sparkplug_b.proto')])
  compiled = dir
  return dir
}

export interface PeerMetric {
  name?: string
  alias?: number
  datatype?: string
  value: unknown
  properties?: Record<string, unknown>
}

export interface PeerPayload {
  topic: string
  timestamp?: number
  seq?: number
  metrics: PeerMetric[]
}

/** Decodes payloads with python3-protobuf (STATE messages, which are JSON, are left out). */
export function peerDecode(messages: Array<{topic: string; payload: Uint8Array}>): PeerPayload[] {
  const input = messages.map((m) => JSON.stringify({topic: m.topic, hex: Buffer.from(m.payload).toString('hex')})).join('\n')
  const out = execFileSync(PYTHON, [join(FIXTURES, 'sparkplug_peer.py'), pb2Dir(), 'decode'], {input, maxBuffer: 64 * 1024 * 1024}).toString()
  return out
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as PeerPayload)
}

export interface PeerMetricToEncode {
  name?: string
  alias?: number
  datatype: string
  value: unknown
  omitDatatype?: boolean
}

/** Encodes a payload with python3-protobuf. */
export function peerEncode(payload: {timestamp?: number; seq?: number; metrics: PeerMetricToEncode[]}): Buffer {
  const out = execFileSync(PYTHON, [join(FIXTURES, 'sparkplug_peer.py'), pb2Dir(), 'encode'], {input: JSON.stringify(payload)}).toString().trim()
  return Buffer.from(out, 'hex')
}
