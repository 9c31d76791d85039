/**
 * The JSON paths commands match and read requests by: `$`, `$.key`, `$.a.b`, `$.list[0]`. A dozen lines cover what
 * a device reads from a command (no filters, no wildcards), so no JSONPath engine is loaded into the fleet workers;
 * the schema refuses anything else at load time with its position.
 */

export const JSON_PATH = /^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[\d+\])*$/

export type JsonPath = (document: unknown) => unknown

export function compileJsonPath(path: string): JsonPath {
  if (!JSON_PATH.test(path)) throw new Error(`"${path}" is not a JSON path such as $.cmd or $.target[0]`)
  const steps: Array<string | number> = []
  for (const m of path.slice(1).matchAll(/\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]/g)) steps.push(m[1] ?? Number(m[2]))
  return (document) => {
    let at: unknown = document
    for (const step of steps) {
      if (at === null || typeof at !== 'object') return undefined
      if (typeof step === 'number' ? !Array.isArray(at) : Array.isArray(at)) return undefined
      at = (at as Record<string | number, unknown>)[step]
    }
    return at
  }
}

export function isJsonPath(text: string): boolean {
  return text.startsWith('$') && JSON_PATH.test(text)
}
