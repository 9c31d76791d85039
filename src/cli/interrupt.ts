/**
 * Runs `fn` with an AbortSignal that Ctrl-C (SIGINT) and SIGTERM abort, so a run can stop cleanly and print its
 * partial summary instead of dying mid-write. The handlers live only as long as `fn`: outside it the default
 * behaviour (exit) comes back.
 */
export async function withInterrupt<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController()
  const onSignal = () => abort.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await fn(abort.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
