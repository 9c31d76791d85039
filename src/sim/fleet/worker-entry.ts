import {parentPort} from 'node:worker_threads'
import {FleetWorker} from './fleet-worker.js'
import type {FromWorker, ToWorker} from './protocol.js'

/** The worker_threads entry point: wires the typed protocol to a FleetWorker. */
const port = parentPort
if (!port) throw new Error('worker-entry must run in a worker thread')

let worker: FleetWorker | undefined
const post = (msg: FromWorker) => port.postMessage(msg)

port.on('message', (msg: ToWorker) => {
  try {
    switch (msg.type) {
      case 'start':
        worker = new FleetWorker(msg.setup, post)
        worker.start()
        break
      case 'stage':
        worker?.stage(msg.stage)
        break
      case 'report':
        worker?.report(msg.round)
        break
      case 'stop':
        void (worker ? worker.stop(msg.drainMs) : Promise.resolve()).then(() => port.close())
        break
    }
  } catch (error) {
    post({type: 'fatal', message: error instanceof Error ? error.message : String(error)})
  }
})
