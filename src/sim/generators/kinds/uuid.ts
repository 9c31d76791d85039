import {defineGenerator} from '../generator-kind.js'
import type {Rng} from '../prng.js'

export const uuidGenerator = defineGenerator({
  kind: 'uuid',
  doc: `A seeded random UUID (version 4 format) per message.`,
  example: `msgId: {kind: uuid}`,
  params: {},
  create: (_spec, {rng}) => ({next: () => uuidV4(rng)}),
})

/** A seeded RFC 4122 version-4 UUID. */
export function uuidV4(rng: Rng): string {
  const words = [rng.uint32(), rng.uint32(), rng.uint32(), rng.uint32()]
  words[1] = (words[1] & 0xffff0fff) | 0x00004000
  words[2] = (words[2] & 0x3fffffff) | 0x80000000
  const hex = words.map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
