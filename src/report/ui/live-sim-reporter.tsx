import {render, Static, Text, useStdout} from 'ink'
import {useEffect, useState, useSyncExternalStore} from 'react'
import type {SimSnapshot, SimSummary} from '../../sim/types.js'
import type {LogLevel, ReporterStreams, RunReporter} from '../run-reporter.js'
import {formatSimSummary} from '../sim-summary.js'
import {createLiveSimStore, type LiveSimStore, type LogEntry} from './live-sim-store.js'
import {SimView} from './sim-view.js'

/**
 * The interactive reporter: an Ink live view on stdout (the terminal the user watches), log lines printed once
 * above it through <Static>, and at the end the live area removed and the text summary printed in its place.
 * This module is only loaded by a dynamic import, so runs without a live view never pay for Ink and React.
 */

/** Redraws at most this often; snapshots arrive once a second, so this only bounds bursts of log lines. */
const MAX_FPS = 10
/** Used when the stream does not know its size (never for a real terminal). */
const FALLBACK_SIZE = {columns: 100, rows: 30}

export interface LiveSimReporterOptions extends ReporterStreams {
  color: boolean
  title?: string
  cores: number
}

export function useTerminalSize(): {columns: number; rows: number} {
  const {stdout} = useStdout()
  const read = () => ({columns: stdout.columns || FALLBACK_SIZE.columns, rows: stdout.rows || FALLBACK_SIZE.rows})
  const [size, setSize] = useState(read)
  useEffect(() => {
    const onResize = () => setSize(read())
    stdout.on('resize', onResize)
    return () => {
      stdout.off('resize', onResize)
    }
  }, [stdout])
  return size
}

const LOG_MARKS: Record<LogLevel, {mark: string; colour?: string}> = {
  info: {mark: '·'},
  warn: {mark: '⚠', colour: 'yellow'},
  error: {mark: '✗', colour: 'red'},
}

export function LogLine({entry, color}: {entry: LogEntry; color: boolean}) {
  const {mark, colour} = LOG_MARKS[entry.level]
  return (
    <Text color={color ? colour : undefined}>
      {mark} {entry.text}
    </Text>
  )
}

export interface LiveSimAppProps {
  store: LiveSimStore
  color: boolean
  title?: string
  cores: number
}

export function LiveSimApp({store, color, title, cores}: LiveSimAppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getState)
  const {columns, rows} = useTerminalSize()
  return (
    <>
      <Static items={[...state.logs]}>{(entry) => <LogLine key={entry.id} entry={entry} color={color} />}</Static>
      {state.finished ? null : (
        <SimView snapshot={state.snapshot} throughput={state.throughput} rows={rows} columns={columns} color={color} title={title} cores={cores} />
      )}
    </>
  )
}

export function createLiveSimReporter(opts: LiveSimReporterOptions): RunReporter<SimSnapshot, SimSummary> {
  const store = createLiveSimStore()
  const instance = render(<LiveSimApp store={store} color={opts.color} title={opts.title} cores={opts.cores} />, {
    stdout: opts.stdout,
    stderr: opts.stderr,
    maxFps: MAX_FPS,
    // SIGINT is the command's to handle (it prints the partial summary through finish()); the view reads no keys.
    exitOnCtrlC: false,
    // Stray console output from libraries is printed above the live area instead of tearing the frame.
    patchConsole: true,
  })
  let stopped: Promise<void> | undefined
  const stopView = () => {
    stopped ??= (async () => {
      store.finish()
      // Let React commit the frame without the live area before Ink writes its last frame on unmount.
      await new Promise((resolve) => setImmediate(resolve))
      instance.unmount()
      await instance.waitUntilExit()
    })()
    return stopped
  }
  let finished: Promise<void> | undefined
  return {
    update: (snapshot) => store.update(snapshot),
    log: (line, level = 'info') => store.log(line, level),
    finish(summary) {
      finished ??= stopView().then(() => {
        opts.stdout.write(`${formatSimSummary(summary, {color: opts.color, cores: opts.cores})}\n`)
      })
      return finished
    },
    close: stopView,
  }
}
