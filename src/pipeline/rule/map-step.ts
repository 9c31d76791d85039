/**
 * The optional JSONata `map:` of a rule: reshapes each output row where SQL is awkward (nested objects, arrays).
 * JSONata evaluates asynchronously at ~190k rows/s here, so it runs only on the rule's output rows, never on
 * every event. A result that is not an object (or is undefined) drops the row; an evaluation error dead-letters it.
 */
import {createRequire} from 'node:module'
import type jsonataModule from 'jsonata'

// Loaded on the first `map:`, synchronously (pipeline files are validated synchronously): most pipelines have none.
const load = createRequire(import.meta.url)
let jsonata: typeof jsonataModule | undefined

export type MapStep = (row: Record<string, unknown>) => Promise<{ok: true; row: Record<string, unknown> | undefined} | {ok: false; reason: string}>

/** Compiles the expression; throws an Error with JSONata's message (and position) when it does not parse. */
export function compileMap(expression: string): MapStep {
  jsonata ??= load('jsonata') as typeof jsonataModule
  let expr: ReturnType<typeof jsonataModule>
  try {
    expr = jsonata(expression)
  } catch (error) {
    const e = error as {message?: string; position?: number}
    throw new Error(`map: ${e.message ?? String(error)}${e.position !== undefined ? ` (at character ${e.position})` : ''}`)
  }
  return async (row) => {
    try {
      const out: unknown = await expr.evaluate(row)
      if (out === undefined || out === null) return {ok: true, row: undefined}
      if (typeof out !== 'object' || Array.isArray(out)) return {ok: true, row: {value: out}}
      return {ok: true, row: out as Record<string, unknown>}
    } catch (error) {
      return {ok: false, reason: `map: ${(error as Error).message}`}
    }
  }
}
