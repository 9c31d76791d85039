/**
 * TLS material read from files once per process. A fleet of 10,000 devices sharing one CA must not read (or hold)
 * the file 10,000 times: every client gets the same Buffer.
 */
import {readFileSync} from 'node:fs'
import {UsageError} from '../errors.js'

const cache = new Map<string, Buffer>()

/** Reads a PEM file (CA, certificate or key) once; later calls return the same Buffer. */
export function readTlsFile(path: string, what: 'CA' | 'certificate' | 'key'): Buffer {
  const hit = cache.get(path)
  if (hit) return hit
  let data: Buffer
  try {
    data = readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err)
    throw new UsageError(`cannot read the TLS ${what} file ${path} (${code})`, ['check the path given to --ca/--cert/--key'])
  }
  cache.set(path, data)
  return data
}

/** Forgets cached files (tests that rewrite a file under the same path). */
export function clearTlsFileCache(): void {
  cache.clear()
}

/** Said once per connection setting whenever certificate verification is off (--insecure, `insecure: true`). */
export const INSECURE_TLS_WARNING = "TLS certificate verification is off (insecure): the broker is not authenticated, so anyone on the path can read and change the traffic; for testing only"
