/**
 * Every source and sink kind a pipeline file may name, each registered once with its spec (one spec per component):
 * validation, defaults, the JSON Schema, `pipeline lint` and the reference docs all come from these lists.
 * Adding a kind is adding its file and one line here.
 */
import {fileSink} from './sinks/file.js'
import {httpSink} from './sinks/http.js'
import {influxdbSink} from './sinks/influxdb.js'
import {mqttSink} from './sinks/mqtt.js'
import {natsSink} from './sinks/nats.js'
import {postgresSink} from './sinks/postgres.js'
import {stdoutSink} from './sinks/stdout.js'
import {csvSource} from './sources/csv.js'
import {fileSource} from './sources/file.js'
import {modbusSource} from './sources/modbus.js'
import {mqttSource} from './sources/mqtt.js'
import {natsSource} from './sources/nats.js'
import {registrySource} from './sources/registry-table.js'
import {simSource} from './sources/sim.js'
import {stdinSource} from './sources/stdin.js'
import type {SinkSpec, SourceSpec} from './types.js'

// Specs are generic in their options; the registry only hands options through after validating them with the
// spec's own schema, so the element type is widened here once.
/* eslint-disable @typescript-eslint/no-explicit-any */
export const SOURCE_SPECS: readonly SourceSpec<any>[] = [mqttSource, modbusSource, csvSource, stdinSource, fileSource, simSource, natsSource, registrySource]
export const SINK_SPECS: readonly SinkSpec<any>[] = [stdoutSink, fileSink, mqttSink, httpSink, postgresSink, influxdbSink, natsSink]
/* eslint-enable @typescript-eslint/no-explicit-any */

export function sourceSpec(type: string): SourceSpec<unknown> | undefined {
  return SOURCE_SPECS.find((s) => s.type === type)
}

export function sinkSpec(type: string): SinkSpec<unknown> | undefined {
  return SINK_SPECS.find((s) => s.type === type)
}
