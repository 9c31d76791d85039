/**
 * Runs src/commands/broker.ts through oclif's real parse / run / exit path, from source.
 * (bin/dev.js would load the command named in oclif.manifest.json, i.e. the last build in dist/, which may be stale.)
 * Usage: node --import tsx test/integration/net/broker-command-runner.ts [flags...]
 */
import {flush, handle} from '@oclif/core'
import Broker from '../../../src/commands/broker.js'

const root = new URL('../../../', import.meta.url)
await Broker.run(process.argv.slice(2), root.href).then(
  () => flush(),
  (err: Error) => handle(err),
)
