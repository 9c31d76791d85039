/**
 * describeFetchFailure: a certificate or TLS failure under undici's "fetch failed" is not transient (no retries),
 * with the same TLS codes a broker connection treats as TLS (TLS_CODE in src/net/connect-errors.ts).
 */
import {describe, expect, it} from 'vitest'
import {describeFetchFailure} from '../../../src/pipeline/sinks/http-failure.js'

function fetchFailed(code: string, message = code): Error {
  return Object.assign(new TypeError('fetch failed'), {cause: Object.assign(new Error(message), {code})})
}

describe('describeFetchFailure', () => {
  it.each(['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'EPROTO', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'ERR_TLS_CERT_ALTNAME_INVALID', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])(
    '%s is a TLS failure, not transient',
    (code) => {
      const f = describeFetchFailure(fetchFailed(code, 'unable to verify the first certificate'), 5000)
      expect(f.transient).toBe(false)
      expect(f.text).toMatch(/^TLS: /)
      expect(f.text).toContain(`(${code})`)
    },
  )

  it('a refused connection stays transient', () => {
    const f = describeFetchFailure(fetchFailed('ECONNREFUSED'), 5000)
    expect(f.transient).toBe(true)
    expect(f.text).toContain('ECONNREFUSED')
  })
})
