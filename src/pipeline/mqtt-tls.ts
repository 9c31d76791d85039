/**
 * The TLS options the pipeline's mqtt source and sink share (and `iotd tail/record/replay`, which build those from
 * flags): `tls: {ca, cert, key}` — a CA to verify the broker with, a client certificate and key for brokers that
 * ask for one — and `insecure` to skip verification (testing only, and warned about). Files are named relative to
 * the pipeline file. (Nested under `tls:` as in a scenario's broker, and because a source's `key` is its record key.)
 */
import {isAbsolute, resolve} from 'node:path'
import {z} from 'zod'
import {UsageError} from '../errors.js'
import type {MqttEndpoint} from '../net/mqtt-connection.js'
import {parseEndpointUrl} from '../net/mqtt-endpoint.js'
import {readTlsFile} from '../net/tls-files.js'
import type {ComponentEnv, ComponentProblem} from './types.js'

export const mqttTlsOptions = {
  tls: z
    .strictObject({
      ca: z.string().min(1).optional().describe("The broker's CA certificate (PEM file); without it the system's CAs."),
      cert: z.string().min(1).optional().describe('Client certificate (PEM file) for a broker that asks for one.'),
      key: z.string().min(1).optional().describe("The client certificate's key (PEM file)."),
    })
    .optional()
    .describe('mqtts:// and wss://: certificate files, relative to the pipeline file; read when the file is loaded, so lint reports one that is missing.'),
  insecure: z.boolean().default(false).describe("Do not verify the broker's TLS certificate (testing only; a warning says so)."),
}

export interface MqttTlsOptions {
  tls?: {ca?: string; cert?: string; key?: string}
  insecure: boolean
}

/** The options with their files resolved against `baseDir` (the pipeline file's folder). */
export function resolveTlsFiles<T extends MqttTlsOptions>(options: T, baseDir: string): T {
  if (!options.tls) return options
  const abs = (p: string | undefined) => (p === undefined || isAbsolute(p) ? p : resolve(baseDir, p))
  return {...options, tls: {ca: abs(options.tls.ca), cert: abs(options.tls.cert), key: abs(options.tls.key)}}
}

const TLS_FILES = [['ca', 'CA'], ['cert', 'certificate'], ['key', 'key']] as const

/**
 * The certificate files a run reads before it connects (for mqtts:// and wss:// only, as the connection factory
 * does), read here by the same readTlsFile: a file that is missing or unreadable is a problem at its option.
 */
export function tlsFileProblems(options: MqttTlsOptions & {url: string}, env: ComponentEnv): ComponentProblem[] {
  return filesProblems(options.url, options.tls, env)
}

const unparsedTls = z.looseObject({url: z.unknown(), tls: mqttTlsOptions.tls})

/**
 * tlsFileProblems for options the schema refused (checkUnparsed): a url that is malformed (or missing) names no
 * transport, and the files were named to be read, so they are read; a tls value of the wrong shape is left to the
 * schema's own problem.
 */
export function unparsedTlsFileProblems(options: Readonly<Record<string, unknown>>, env: ComponentEnv): ComponentProblem[] {
  const parsed = unparsedTls.safeParse(options)
  if (!parsed.success) return []
  return filesProblems(parsed.data.url, parsed.data.tls, env)
}

function filesProblems(url: unknown, tls: MqttTlsOptions['tls'], env: ComponentEnv): ComponentProblem[] {
  if (!tls) return []
  let transport: string | undefined
  try {
    transport = typeof url === 'string' ? parseEndpointUrl(url).transport : undefined
  } catch {
    transport = undefined // the url option has its own problem
  }
  if (transport !== undefined && transport !== 'mqtts' && transport !== 'wss') return []
  const files = resolveTlsFiles({tls, insecure: false}, env.baseDir).tls ?? {}
  const problems: ComponentProblem[] = []
  for (const [key, what] of TLS_FILES) {
    const path = files[key]
    if (path === undefined) continue
    try {
      readTlsFile(path, what)
    } catch (error) {
      if (!(error instanceof UsageError)) throw error
      problems.push({path: ['tls', key], message: error.message})
    }
  }
  return problems
}

/** The connection factory's TLS settings; undefined when nothing is set (certificates are verified). */
export function tlsOf(o: MqttTlsOptions): MqttEndpoint['tls'] {
  if (!o.insecure && !o.tls) return undefined
  return {...o.tls, insecure: o.insecure || undefined}
}
