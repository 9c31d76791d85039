/**
 * An in-memory sink for `iotd pipeline test` and the tests: it keeps every row it accepts. Not registered for
 * pipeline files (it has nowhere to put its rows a user could see).
 */
import type {PipelineRecord, Sink} from '../types.js'

export interface MemorySink extends Sink {
  readonly rows: PipelineRecord[]
}

export function createMemorySink(name = 'memory', options: {failWith?: (batch: readonly PipelineRecord[]) => Error | undefined} = {}): MemorySink {
  const rows: PipelineRecord[] = []
  return {
    name,
    rows,
    async open() {},
    async write(batch) {
      const failure = options.failWith?.(batch)
      if (failure) throw failure
      rows.push(...batch)
    },
    async flush() {},
    async close() {},
  }
}
