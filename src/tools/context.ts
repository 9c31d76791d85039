import type {DeadLetterEntry, StageContext} from '../pipeline/types.js'

/**
 * The StageContext the one-command tools (tail, record, replay) give their sources and sinks: dead letters are
 * counted by reason and the first few kept for the summary; warnings go to a callback (stderr).
 */
export interface ToolContext extends StageContext {
  deadLetters: number
  deadLetterReasons: Map<string, number>
  firstDeadLetters: DeadLetterEntry[]
}

export function toolContext(signal: AbortSignal, warn: (message: string) => void = () => {}, keep = 20): ToolContext {
  const ctx: ToolContext = {
    signal,
    deadLetters: 0,
    deadLetterReasons: new Map(),
    firstDeadLetters: [],
    deadLetter(entry) {
      ctx.deadLetters++
      if (ctx.firstDeadLetters.length < keep) ctx.firstDeadLetters.push(entry)
    },
    warn,
  }
  return ctx
}

/** An AbortSignal that fires on any of `signals` or after `ms`; `dispose` clears the timer. */
export function stopSignal(signals: Array<AbortSignal | undefined>, ms?: number): {signal: AbortSignal; abort: () => void; dispose: () => void} {
  const controller = new AbortController()
  const abort = () => controller.abort()
  for (const s of signals) {
    if (!s) continue
    if (s.aborted) abort()
    else s.addEventListener('abort', abort, {once: true})
  }
  const timer = ms !== undefined ? setTimeout(abort, ms) : undefined
  return {
    signal: controller.signal,
    abort,
    dispose: () => {
      if (timer) clearTimeout(timer)
      for (const s of signals) s?.removeEventListener('abort', abort)
    },
  }
}
