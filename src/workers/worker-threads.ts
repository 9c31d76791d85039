import {createRequire} from 'node:module'
import {pathToFileURL} from 'node:url'
import {Worker} from 'node:worker_threads'

/**
 * The one way iotd starts worker_threads. From the build the entry is a .js file. Running from source
 * (bin/dev.js, vitest) the entry is a .ts file, and a worker does not inherit the parent's tsx loader, so a small
 * bootstrap registers tsx in the worker before importing the entry.
 */
export function spawnWorker(entry: URL): Worker {
  const fromSource = import.meta.url.endsWith('.ts')
  if (!fromSource) return new Worker(entry)
  const tsEntry = entry.href.replace(/\.js$/, '.ts')
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(tsEntry)}) })`
  return new Worker(bootstrap, {eval: true})
}
