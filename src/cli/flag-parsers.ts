import {durationFlagText, flagValue, parseRate, parseSize} from '../config/units.js'
import {UsageError} from '../errors.js'

/**
 * Flag values go through the same unit parsers as config files; a bad one is a usage error naming the flag (flagValue).
 * A duration flag also needs its unit: `--duration 5` is refused, where a file reads a bare 5 as milliseconds.
 */
export function parseDurationFlag(flag: string, value: string | undefined): number | undefined {
  return durationFlagText(flag, value)
}

export function parseRateFlag(flag: string, value: string | undefined): number | undefined {
  return flagValue(flag, value, parseRate)
}

export function parseSizeFlag(flag: string, value: string | undefined): number | undefined {
  return flagValue(flag, value, parseSize)
}

/**
 * `--shard 2/3` (1-based, as people count) or JOB_COMPLETION_INDEX (0-based, Kubernetes) with --shards: how bench
 * and sim split their clients or devices over machines. Both may come from the environment (IOTD_SHARD, IOTD_SHARDS),
 * so a pod can get one from its spec and the other from its image: given together they must name the same shard,
 * since running one of them while the other machines follow the other would run some devices twice and some never.
 */
export function parseShard(shard: string | undefined, shards: number | undefined, env: NodeJS.ProcessEnv = process.env): {index: number; count: number} | undefined {
  if (shard === undefined) return shards === undefined ? undefined : shardFromJobIndex(shards, env)
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(shard)
  if (!m) throw new UsageError(`--shard "${shard}": expected i/n, e.g. --shard 1/3`)
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1 || index < 1 || index > count) throw new UsageError(`--shard "${shard}": i must be 1..n`)
  if (shards !== undefined) {
    // --shards n beside --shard i/n is fine when they agree (n, and the job's index when there is one).
    const fromIndex = env.JOB_COMPLETION_INDEX === undefined ? undefined : shardFromJobIndex(shards, env)
    if (shards !== count || (fromIndex && fromIndex.index !== index - 1)) {
      const other = fromIndex ? `--shards ${shards} with JOB_COMPLETION_INDEX ${fromIndex.index} (shard ${fromIndex.index + 1}/${shards})` : `--shards ${shards}`
      throw new UsageError(`--shard ${index}/${count} and ${other} name different shards`, [
        'give one of them: --shard i/n, or --shards n in a Kubernetes Indexed Job (IOTD_SHARD and IOTD_SHARDS set them from the environment too)',
      ])
    }
  }
  return {index: index - 1, count}
}

function shardFromJobIndex(shards: number, env: NodeJS.ProcessEnv): {index: number; count: number} {
  const raw = env.JOB_COMPLETION_INDEX
  if (raw === undefined) throw new UsageError('--shards needs JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job), or use --shard i/n')
  if (!/^\d+$/.test(raw)) throw new UsageError(`JOB_COMPLETION_INDEX "${raw}" is not a whole number: --shards takes the shard's 0-based index from it (0, 1, 2, ...)`)
  const index = Number(raw)
  if (index >= shards) throw new UsageError(`JOB_COMPLETION_INDEX ${index} is not below --shards ${shards}`)
  return {index, count: shards}
}
