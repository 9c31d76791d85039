/**
 * Runs `fn` with an AbortSignal that Ctrl-C (SIGINT) and SIGTERM abort, so a run can stop cleanly and print its
 * partial summary instead of dying mid-write. The handlers live only as long as `fn`: outside it the default
 * behaviour (exit) comes back. `onInterrupt` runs once, at the first signal, to say what is happening. A second
 * signal while the run winds down calls `onSecondInterrupt` (which should print what it can and exit at once);
 * without one it is ignored (each run bounds its own shutdown).
 */
export async function withInterrupt<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  options: {onInterrupt?: () => void; onSecondInterrupt?: () => void} = {},
): Promise<T> {
  const abort = new AbortController()
  const onSignal = () => {
    if (abort.signal.aborted) {
      options.onSecondInterrupt?.()
      return
    }
    options.onInterrupt?.()
    abort.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await fn(abort.signal)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
