/**
 * `tables:` files read again while a pipeline runs: a device registry edited by hand or rewritten by a script is
 * joined from the next event on. A file is watched (its directory, so an editor that writes a new file and renames
 * it over the old one is seen too) and, with `reload: <interval>`, also checked on that interval (filesystems without
 * change events). A rewrite that cannot be read keeps the previous rows, and the run says so; so does one that loses
 * a column the previous rows had (a join on it would find nothing).
 */
import {statSync, watch, type FSWatcher} from 'node:fs'
import {basename, dirname, extname, resolve} from 'node:path'
import type {LoadedPipeline} from '../config/load.js'
import {loadTable, type LookupTable} from '../tables.js'

/** Change events come in bursts (truncate, write, close): read once the burst is over. */
const SETTLE_MS = 100

export interface TableCounters {
  name: string
  rows: number
  /** Times the changed file was read again. */
  reloads: number
  /** Rewrites that could not be read (the previous rows were kept). */
  failedReloads: number
}

export interface TableReloads {
  counters(): TableCounters[]
  close(): void
}

export function watchTables(pipeline: LoadedPipeline, say: (message: string) => void): TableReloads {
  const closers: (() => void)[] = []
  const counts: TableCounters[] = []
  for (const [name, cfg] of Object.entries(pipeline.config.tables)) {
    const table = pipeline.tables.get(name)
    if (!table || cfg.reload === false) continue
    const path = resolve(pipeline.baseDir, cfg.file)
    const format = cfg.format ?? (extname(path).toLowerCase() === '.json' ? 'json' : 'csv')
    const c: TableCounters = {name, rows: table.rows.length, reloads: 0, failedReloads: 0}
    counts.push(c)
    let seen = stamp(path)
    const check = (): void => {
      const now = stamp(path)
      if (now === seen) return
      seen = now
      reload(name, table, path, format, c, say)
    }
    let timer: NodeJS.Timeout | undefined
    const soon = (): void => {
      clearTimeout(timer)
      timer = setTimeout(check, SETTLE_MS)
      timer.unref()
    }
    let watcher: FSWatcher | undefined
    try {
      watcher = watch(dirname(path), (_event, file) => {
        if (file === null || file === basename(path)) soon()
      })
      watcher.unref()
      watcher.on('error', () => watcher?.close())
    } catch (error) {
      say(`table ${name}: cannot watch ${cfg.file} for changes (${(error as Error).message})${typeof cfg.reload === 'number' ? '' : '; set reload: <interval> to check it on a timer'}`)
    }
    const interval = typeof cfg.reload === 'number' ? setInterval(check, cfg.reload) : undefined
    interval?.unref()
    closers.push(() => {
      watcher?.close()
      clearTimeout(timer)
      if (interval) clearInterval(interval)
    })
  }
  return {
    counters: () => counts.map((c) => ({...c})),
    close: () => {
      for (const close of closers) close()
    },
  }
}

function reload(name: string, table: LookupTable, path: string, format: 'csv' | 'json', c: TableCounters, say: (m: string) => void): void {
  let next: LookupTable
  try {
    next = loadTable(name, path, format)
    if (next.rows.length === 0 && table.rows.length > 0) throw new Error(`${path} has no rows`)
  } catch (error) {
    c.failedReloads++
    say(`table ${name}: the changed file could not be read (${(error as Error).message}); keeping the previous ${table.rows.length} rows`)
    return
  }
  const lost = table.columns.filter((col) => !next.columns.includes(col))
  table.replace([...next.rows])
  c.reloads++
  c.rows = table.rows.length
  say(`table ${name}: reloaded ${path} (${table.rows.length} rows)${lost.length > 0 ? `; columns gone: ${lost.join(', ')} (joins on them now find nothing)` : ''}`)
}

/** Modification time and size: what tells a rewritten file from an event that changed nothing. */
function stamp(path: string): string {
  try {
    const s = statSync(path)
    return `${s.mtimeMs}:${s.size}`
  } catch {
    return 'missing'
  }
}
