import {render, Static} from 'ink'
import {useSyncExternalStore} from 'react'
import type {BenchSnapshot} from '../../bench/run-bench.js'
import type {BenchResult} from '../bench-result.js'
import type {ReporterStreams, RunReporter} from '../run-reporter.js'
import {BenchView} from './bench-view.js'
import {LogLine, useTerminalSize} from './live-sim-reporter.js'
import {createLiveStore, type LiveStore} from './live-sim-store.js'

/** The interactive reporter of `iotd bench` (loaded lazily): the Ink dashboard, log lines above it, then the summary. */

const MAX_FPS = 10

export interface LiveBenchReporterOptions extends ReporterStreams {
  color: boolean
  summaryText: (result: BenchResult) => string
}

function LiveBenchApp({store, color}: {store: LiveStore<BenchSnapshot>; color: boolean}) {
  const state = useSyncExternalStore(store.subscribe, store.getState)
  const {columns, rows} = useTerminalSize()
  return (
    <>
      <Static items={[...state.logs]}>{(entry) => <LogLine key={entry.id} entry={entry} color={color} />}</Static>
      {state.finished ? null : <BenchView snapshot={state.snapshot} throughput={state.throughput} rows={rows} columns={columns} color={color} />}
    </>
  )
}

export function createLiveBenchReporter(opts: LiveBenchReporterOptions): RunReporter<BenchSnapshot, BenchResult> {
  const store = createLiveStore<BenchSnapshot>((s) => s.sentPerSec)
  const instance = render(<LiveBenchApp store={store} color={opts.color} />, {
    stdout: opts.stdout,
    stderr: opts.stderr,
    maxFps: MAX_FPS,
    exitOnCtrlC: false,
    patchConsole: true,
  })
  let stopped: Promise<void> | undefined
  const stopView = () => {
    stopped ??= (async () => {
      store.finish()
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
