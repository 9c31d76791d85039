/**
 * The one check of an endpoint URL's shape (broker, NATS server, InfluxDB, HTTP and PostgreSQL URLs) before anything
 * connects: scheme, `://`, host, port range. `pipeline lint` and `pipeline run` both reach it through the
 * components' option schemas, and the connection code (parseEndpointUrl, connectNats) through their parsers, so a
 * URL lint passes is one run accepts. Needs no network. Every message quotes the URL through redactUrl only: the
 * URLs worth complaining about are the ones whose password is where a parser does not expect it.
 */
import {closestName} from '../config/did-you-mean.js'
import {UsageError} from '../errors.js'
import {redactUrl} from './redact-url.js'

export interface UrlRules {
  /** What the URL names, for messages: `a broker URL`, `a NATS server`. */
  what: string
  /** Schemes accepted (lower case), the usual ones first: these are the ones named in messages. */
  schemes: readonly string[]
  /** Further schemes accepted but not advertised (aliases such as tcp:// for mqtt://). */
  aliases?: readonly string[]
  /** Schemes refused with a reason of their own (NATS: ws:// needs another client). */
  refused?: Readonly<Record<string, string>>
  /** A working example for the suggestion. */
  example: string
  /** `host[:port]` without a scheme is accepted (NATS). */
  schemeOptional?: boolean
  /** A URL without a host is accepted (PostgreSQL: the socket or PGHOST). */
  hostOptional?: boolean
  /** An `@` may follow the host (an HTTP path or query); otherwise it is a password's unencoded `/`, `?` or `#`. */
  atAfterHost?: boolean
}

export interface CheckedUrl {
  /** The scheme as written, lower case; undefined for a bare `host:port` where that is allowed. */
  scheme?: string
  host: string
  /** The port written in the URL, if any. */
  port?: number
}

/** http:// and https:// endpoints (the HTTP and InfluxDB sinks): a path and a query may hold anything, `@` too. */
export function httpUrlRules(what: string, example: string): UrlRules {
  return {what, schemes: ['http', 'https'], example, atAfterHost: true}
}

const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

/**
 * Checks a URL's shape against `rules`. Throws a UsageError (exit 2) saying what is wrong, with the URL redacted and,
 * where a slip is plain (`mqtt//host`, `mqqt://host`, `tcp:/host`), the URL as it was probably meant.
 */
export function checkUrl(url: string, rules: UrlRules): CheckedUrl {
  const shown = redactUrl(url)
  const names = rules.schemes.map((s) => `${s}://`)
  const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names.at(-1)}` : names[0]
  const known = [...rules.schemes, ...(rules.aliases ?? [])]
  const fail = (detail: string, meant?: string): never => {
    throw new UsageError(`"${shown}" is not ${rules.what}: ${detail}${meant === undefined ? '' : `; did you mean "${redactUrl(meant)}"?`}`, [`e.g. ${rules.example}`])
  }
  const m = SCHEME.exec(url)
  if (!m) {
    // Only a known scheme (or one a typo away) is ever named: without `://`, what precedes a `:` may be a password.
    const slip = /^([a-z][a-z0-9+.-]*)(:\/?|\/\/)(?!\/)([\s\S]*)$/i.exec(url)
    const exact = slip !== null && known.includes(slip[1].toLowerCase())
    // `mqt:secret@host` is more likely a user name and password than a scheme: then nothing is guessed.
    const guess = !slip ? undefined : exact ? slip[1].toLowerCase() : slip[2] === ':' && slip[3].includes('@') ? undefined : closestName(slip[1], rules.schemes)
    if (slip && guess && !(rules.schemeOptional && slip[2] === ':' && /^\d*$/.test(slip[3]))) fail(`it does not start with ${list}`, `${guess}://${slip[3]}`)
    if (!rules.schemeOptional) fail(`it does not start with ${list}`)
    return authority(url, url, undefined, rules, fail)
  }
  const scheme = m[1].toLowerCase()
  const refused = rules.refused?.[scheme]
  if (refused !== undefined) fail(refused)
  const rest = url.slice(m[0].length)
  if (!known.includes(scheme)) {
    const hint = closestName(scheme, rules.schemes)
    throw new UsageError(`"${shown}" has an unsupported scheme "${m[1]}:"${hint ? `; did you mean "${redactUrl(`${hint}://${rest}`)}"?` : ''}`, [`use ${list}`])
  }
  if (rest.startsWith('/') && !rules.hostOptional) fail(`a third / follows ${scheme}://`, `${scheme}://${rest.replace(/^\/+/, '')}`)
  return authority(url, rest, scheme, rules, fail)
}

function authority(url: string, rest: string, scheme: string | undefined, rules: UrlRules, fail: (detail: string, meant?: string) => never): CheckedUrl {
  // Up to the first / is what a reader takes for the authority. An @ there after a ? or # is a password holding ?
  // or # unencoded: a URL parser ends the host at the ? or #, so `ws://u:1883?pw@host` connects to host "u", port
  // 1883, with the password in the query sent to it. Refused for every scheme (ws:// and http:// allow an @ in a
  // query): a query right after the host reads the same, and is written with a / before its ? instead.
  const slash = rest.indexOf('/')
  const seeming = slash >= 0 ? rest.slice(0, slash) : rest
  const mark = seeming.search(/[?#]/)
  if (mark >= 0 && seeming.includes('@', mark)) {
    fail(`a ${seeming[mark]} comes before the @, where a URL parser ends the host; in a user name or password write ? as %3F and # as %23 (a query after the host needs a / first: host/?a=b)`)
  }
  const end = rest.search(/[/?#]/)
  // An `@` past the end of the authority is a password holding `/`, `?` or `#` unencoded: `mqtt://u:1883/pw@host`
  // would parse as host "u", port 1883, and connect there.
  // ws:// and wss:// send their path and query to the server, which may hold an `@` (`ws://host/mqtt?token=a@b`):
  // there only an `@` before the first `?` is refused.
  const query = scheme === 'ws' || scheme === 'wss' ? rest.indexOf('?') : -1
  const atAfter = end >= 0 ? rest.indexOf('@', end) : -1
  if (!rules.atAfterHost && atAfter >= 0 && (query < 0 || atAfter < query)) fail('an @ follows a /, ? or # (in a user name or password, write / ? # @ as %2F %3F %23 %40)')
  const auth = end >= 0 ? rest.slice(0, end) : rest
  if (scheme === undefined && end >= 0) fail(`write it as host:port or start it with ${rules.schemes.map((s) => `${s}://`).join(' or ')}`)
  const hostPort = auth.slice(auth.lastIndexOf('@') + 1)
  const v6 = /^\[([^\]]*)\](.*)$/.exec(hostPort)
  const host = v6 ? v6[1] : hostPort.replace(/:[^:]*$/, '')
  const portText = v6 ? (v6[2].startsWith(':') ? v6[2].slice(1) : v6[2] === '' ? undefined : '!') : hostPort.includes(':') ? hostPort.slice(hostPort.lastIndexOf(':') + 1) : undefined
  if (host === '' && !rules.hostOptional) fail('it names no host')
  if (/[\s<>"{}|\\^`]/.test(host)) fail('the host holds a character a host name cannot')
  let port: number | undefined
  // An empty port (`mqtt://host:/`) is the scheme's default, as WHATWG URL reads it; only a bare `host:` is refused.
  if (portText !== undefined && !(portText === '' && (rules.hostOptional || scheme !== undefined))) {
    // The port is quoted only where it cannot be part of a password (`https://u:p/w@host`: "p" is not a port).
    const quote = end < 0 || rest.indexOf('@', end) < 0
    if (!/^\d+$/.test(portText)) fail(portText === '' ? 'a : with no port after it' : quote ? `port "${portText}" is not a number` : 'the port is not a number')
    port = Number(portText)
    if (port < 1 || port > 65535) fail(`port ${quote ? `${portText} ` : ''}is out of range (1-65535)`)
  }
  // Whatever else a URL parser refuses (a stray space, a bad percent-escape in the path).
  if (scheme !== undefined && host !== '' && !URL.canParse(url)) fail('it does not parse as a URL')
  return {scheme, host, port}
}
