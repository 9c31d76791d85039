import {execFileSync} from 'node:child_process'
import {mkdtempSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

/** Self-signed certificates for TLS tests, made by the openssl CLI (skipped with a notice where it is missing). */

export const opensslAvailable = (() => {
  try {
    execFileSync('openssl', ['version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
})()

/** A one-day self-signed certificate for localhost and 127.0.0.1, in a new temp dir: {dir, key, cert} paths. */
export function selfSignedCertificate(prefix = 'iotd-tls-'): {dir: string; key: string; cert: string} {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const key = join(dir, 'key.pem')
  const cert = join(dir, 'cert.pem')
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    '-keyout', key, '-out', cert,
  ], {stdio: 'ignore'})
  return {dir, key, cert}
}
