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
  digest('sha512', 'sha512'),
]
