/** Everything in iotd that opens an MQTT socket, and the arithmetic around it. */
export {backoffDelay, DEFAULT_BACKOFF, type BackoffOptions} from './backoff.js'
export {assignSourceAddress, parseSourceAddresses} from './source-addresses.js'
export {hostPort, parseEndpointUrl, redactUrl, type MqttTransport, type ParsedEndpoint} from './mqtt-endpoint.js'
export {describeConnectError, MqttConnectError, type ConnectFailure} from './connect-errors.js'
export {
  connectOnce,
  connectWithRetry,
  createMqttClient,
  DEFAULT_CONNECT_TIMEOUT_MS,
  type ClientOptions,
  type MqttEndpoint,
  type RetryOptions,
} from './mqtt-connection.js'
export {clearTlsFileCache} from './tls-files.js'
export {topicMatches} from './topic-filter.js'
export {checkConnectionCapacity, readSystemLimits, type CapacityCheck, type CapacityRequest, type SystemLimits} from './capacity.js'
// The embedded broker loads aedes: import './embedded-broker.js' directly (lazily) where it is started, so fleet
// workers and short commands that only need a client do not pay for it.
export type {EmbeddedBroker, ResolvedBroker} from './embedded-broker.js'
