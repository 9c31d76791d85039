import {createRng} from '../../src/sim/generators/prng.js'

/** A reproducible Math.random stand-in for property and population tests, from the project's own PRNG. */
export function seededRandom(seed: number): () => number {
  const rng = createRng(['test', seed])
  return () => rng.next()
}
