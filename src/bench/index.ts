/**
 * `iotd bench` building blocks (issue #3, in progress): the latency header every bench payload carries, PUBLISH
 * frames built once and patched in place, a cheap ack reader, a subscriber-side PUBLISH reader, raw TCP MQTT
 * connections for the hot path, and SLO thresholds in k6's grammar.
 */
export * from './latency-header.js'
export * from './publish-frame.js'
export * from './publish-reader.js'
export * from '../net/raw-mqtt-connection.js'
export * from './thresholds.js'
export * from './observation.js'
export * from './load-profile.js'
export * from './open-loop.js'
