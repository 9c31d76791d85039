import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
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

export interface TlsBroker {
  url: string
  /** The broker's self-signed certificate (PEM), to pass as the CA. */
  cert: string
  close(): Promise<void>
}

/** aedes behind TLS with a fresh self-signed certificate, on an OS-assigned port of 127.0.0.1. */
export async function startTlsAedes(prefix = 'iotd-tls-'): Promise<TlsBroker> {
  const {Aedes} = await import('aedes')
  const {createServer} = await import('node:tls')
  const files = selfSignedCertificate(prefix)
  const aedes = await Aedes.createBroker()
  const server = createServer({key: readFileSync(files.key), cert: readFileSync(files.cert)}, aedes.handle)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return {
    url: `mqtts://127.0.0.1:${(server.address() as {port: number}).port}`,
    cert: files.cert,
    async close() {
      await new Promise<void>((r) => aedes.close(() => r()))
      await new Promise((r) => server.close(r))
      rmSync(files.dir, {recursive: true, force: true})
    },
  }
}

export interface CertificateAuthority {
  dir: string
  /** The CA's certificate (PEM): what a client verifies the broker with. */
  ca: string
  /** The broker's certificate and key, signed by the CA, for 127.0.0.1 and localhost. */
  serverCert: string
  serverKey: string
  /** A client certificate and key signed by the CA, for brokers that require one. */
  clientCert: string
  clientKey: string
}

/**
 * A private CA (one day) with a server certificate for 127.0.0.1/localhost and a client certificate, made by the
 * openssl CLI in a new temp dir: the setup of a TLS broker that verifies clients, as a plant runs one.
 */
export function certificateAuthority(prefix = 'iotd-ca-'): CertificateAuthority {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  const at = (name: string) => join(dir, name)
  const openssl = (...args: string[]) => execFileSync('openssl', args, {stdio: 'ignore'})
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=iotd test CA', '-keyout', at('ca.key'), '-out', at('ca.pem'))
  const issue = (name: string, cn: string, extensions: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', at(`${name}.key`), '-out', at(`${name}.csr`))
    writeFileSync(at(`${name}.ext`), extensions)
    openssl('x509', '-req', '-in', at(`${name}.csr`), '-CA', at('ca.pem'), '-CAkey', at('ca.key'), '-CAcreateserial', '-days', '1', '-extfile', at(`${name}.ext`), '-out', at(`${name}.pem`))
  }
  issue('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  issue('client', 'iotd-client', 'extendedKeyUsage=clientAuth\n')
  return {dir, ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key')}
}
