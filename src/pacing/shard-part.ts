/**
 * What shard `index` of `count` owns of a list in its order: every count-th, from the index-th. The one rule every
 * split follows (a run's and a backfill's fleet devices, a backfill's Modbus devices, `iotd sim registry --shard`'s
 * rows, `iotd bench --shard`'s clients), so the shards of one run hold each item once, and the same items wherever
 * they are listed.
 */
export function shardPart<T>(items: readonly T[], shard: {index: number; count: number} | undefined): T[] {
  if (!shard || shard.count === 1) return [...items]
  return items.filter((_, ordinal) => ordinal % shard.count === shard.index)
}
