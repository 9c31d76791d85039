/**
 * The one way a URL is made fit for printing (broker, NATS, InfluxDB, HTTP and database URLs alike): messages, logs,
 * summaries and `--json` echoes quote URLs only through these functions.
 */

const MASK = '***'

/** Query parameters that carry a secret (`?u=admin&p=...` of InfluxDB 1.x, `?token=`, `?password=`, ...). */
const SECRET_PARAM = /([?&;](?:p|pw|pwd|pass|passwd|password|token|access_token|auth|authorization|secret|api_?key|sig|signature)=)[\s\S]*?(?=&[^&=#\s]*=|$)/gi

/**
 * A URL as it may be printed: whatever could be credentials is masked, in any malformed form a user may type, since
 * the URLs worth printing are often the ones that did not parse. The userinfo is everything from the start (or
 * from the scheme's `//`) to the LAST `@`: a password may hold `@`, `/`, `?`, `#` or `:`, so no URL parser's idea
 * of where it ends is trusted. Of it only a plain user name before the first `:` is kept
 * (`mqtt://user:secret@host` -> `mqtt://user:***@host`, `u:secret@host` -> `u:***@host`); the values of secret
 * query parameters go too (`?u=admin&p=secret` -> `?u=admin&p=***`). An `@` after the host (a path or query)
 * masks the host as well: over-masking a message is the price of never leaking one. The one function for this:
 * every message, log and `--json` echo that quotes a URL goes through it.
 */
export function redactUrl(url: string): string {
  let out = url
  const at = out.lastIndexOf('@')
  if (at >= 0) {
    const start = /^[a-z][a-z0-9+.-]*:\/\//i.exec(out)?.[0].length ?? 0
    if (at >= start) {
      const userinfo = out.slice(start, at)
      const colon = userinfo.indexOf(':')
      const user = colon >= 0 ? userinfo.slice(0, colon) : userinfo
      // A user name alone (`mqtt://alice@host`) is kept; anything that is not plainly one is masked whole.
      const plainUser = /^[^\s:/?#@[\]]*$/.test(user)
      const masked = !plainUser ? MASK : colon >= 0 ? `${user}:${MASK}` : user
      out = `${out.slice(0, start)}${masked}${out.slice(at)}`
    }
  }
  return out.replace(SECRET_PARAM, `$1${MASK}`)
}

/**
 * Every URL (`scheme://...`, up to whitespace or a quote) inside a free text, such as a client library's error
 * message, redacted as redactUrl does.
 */
export function redactUrlsIn(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]*/gi, (url) => redactUrl(url))
}
