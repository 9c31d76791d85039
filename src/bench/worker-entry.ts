import {parentPort} from 'node:worker_threads'
import {BenchWorker} from './bench-worker.js'
import type {FromBenchWorker, ToBenchWorker} from './protocol.js'

/** The worker_threads entry point of `iotd bench`: wires the typed protocol to a BenchWorker. */
const port = parentPort
if (!port) throw new Error('bench worker-entry must run in a worker thread')

let worker: BenchWorker | undefined
const post = (msg: FromBenchWorker) => port.postMessage(msg)
const fatal = (error: unknown) => post({type: 'fatal', message: error instanceof Error ? error.message : String(error)})

port.on('message', (msg: ToBenchWorker) => {
  try {
    switch (msg.type) {
      case 'setup':
        worker = new BenchWorker(msg.setup, post)
        worker.connect().catch(fatal)
        break
      case 'go':
        worker?.go(msg.startAtUs, msg.warmupMs)
        break
      case 'stop-publishing':
        worker?.stopPublishing().catch(fatal)
        break
      case 'stop':
        void (worker ? worker.stop() : Promise.resolve()).then(() => port.close(), fatal)
        break
    }
  } catch (error) {
    fatal(error)
  }
})
