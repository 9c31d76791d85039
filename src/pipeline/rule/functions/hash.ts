/** Hash functions (hex digests) via node:crypto. Numbers and booleans are hashed as their text. */
import {createHash} from 'node:crypto'
import {param} from './define.js'
import type {ScalarFunctionSpec} from './types.js'

function digest(name: string, algorithm: string): ScalarFunctionSpec {
  return {
    kind: 'scalar', name, summary: `${name} digest as hex`, params: [param('s')], required: 1,
    impl: (a) => {
      const v = a[0]
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return null
      return createHash(algorithm).update(String(v)).digest('hex')
    },
  }
}

export const hashFunctions: ScalarFunctionSpec[] = [
  digest('md5', 'md5'),
  digest('sha1', 'sha1'),
  digest('sha256', 'sha256'),
  digest('sha384', 'sha384'),
  digest('sha512', 'sha512'),
  {
    kind: 'scalar', name: 'crc32', summary: 'CRC-32 (IEEE) as hex', params: [param('s')], required: 1,
    impl: (a) => {
      const v = a[0]
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return null
      return crc32(Buffer.from(String(v), 'utf8')).toString(16)
    },
  },
]

const CRC_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c >>> 0
  }
  return t
})()

/** CRC-32/IEEE (Node 20's zlib has no crc32). */
export function crc32(b: Uint8Array): number {
  let c = 0xffffffff
  for (const byte of b) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
