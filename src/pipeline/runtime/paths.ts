/** Reads a dotted path (`ts`, `meta.time`) from a payload object; undefined when any step is missing. */
export function getPath(root: unknown, path: string): unknown {
  if (!path.includes('.')) return root !== null && typeof root === 'object' ? (root as Record<string, unknown>)[path] : undefined
  let v: unknown = root
  for (const step of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined
    v = (v as Record<string, unknown>)[step]
  }
  return v
}
