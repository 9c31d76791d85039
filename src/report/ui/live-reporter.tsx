import {render, Static, Text, useStdout} from 'ink'
import {useEffect, useState, useSyncExternalStore, type ReactNode} from 'react'
import type {LogLevel, ReporterStreams, RunReporter} from '../run-reporter.js'
import type {LiveState, LiveStore, LogEntry} from './live-sim-store.js'

/**
 * The one interactive reporter: an Ink live area on stdout (the terminal the user watches), log lines printed once
 * above it through <Static>, and at the end the live area removed and the text summary printed in its place. Each
 * command supplies only its store and its view. Loaded by dynamic import only, so runs without a live view never
 * pay for Ink and React.
 */

/** Redraws at most this often; snapshots arrive once a second, so this only bounds bursts of log lines. */
const MAX_FPS = 10
/** Used when the stream does not know its size (never for a real terminal). */
const FALLBACK_SIZE = {columns: 100, rows: 30}

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

/** Draws the live area for the current state and terminal size. */
export type LiveView<S> = (state: LiveState<S>, size: {columns: number; rows: number}) => ReactNode

export function LiveApp<S>({store, color, view}: {store: LiveStore<S>; color: boolean; view: LiveView<S>}) {
  const state = useSyncExternalStore(store.subscribe, store.getState)
  const size = useTerminalSize()
  return (
    <>
      <Static items={[...state.logs]}>{(entry) => <LogLine key={entry.id} entry={entry} color={color} />}</Static>
      {state.finished ? null : view(state, size)}
    </>
  )
}

export interface LiveReporterOptions<S, R> extends ReporterStreams {
  color: boolean
  store: LiveStore<S>
  view: LiveView<S>
  summaryText: (result: R) => string
}

export function createLiveReporter<S, R>(opts: LiveReporterOptions<S, R>): RunReporter<S, R> {
  const {store} = opts
  const instance = render(<LiveApp store={store} color={opts.color} view={opts.view} />, {
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
    finish(result) {
      finished ??= stopView().then(() => {
        opts.stdout.write(`${opts.summaryText(result)}\n`)
      })
      return finished
    },
    close: stopView,
  }
}
