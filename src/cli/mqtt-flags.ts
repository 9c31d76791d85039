import {Flags} from '@oclif/core'
import {checkCredentials} from '../net/mqtt-endpoint.js'
import type {MqttSourceOptions} from '../pipeline/sources/mqtt.js'

/**
 * The one set of MQTT connection flags: every command that connects to a broker (sim, bench, tail, record,
 * replay) takes these, so --ca/--cert/--key/--insecure, credentials and the client id mean the same everywhere.
 * Certificates are verified unless --insecure (the connection warns when it is off). Commands whose broker
 * default differs (sim and bench look for a local broker or start the embedded one) give their own --broker.
 */

export const mqttCredentialFlags = {
  username: Flags.string({summary: 'Username.', env: 'IOTD_USERNAME'}),
  password: Flags.string({summary: 'Password (prefer the IOTD_PASSWORD environment variable).', env: 'IOTD_PASSWORD'}),
}

export const mqttTlsFlags = {
  ca: Flags.string({summary: "CA certificate file (PEM) to verify the broker with, for mqtts:// and wss://.", env: 'IOTD_CA'}),
  cert: Flags.string({summary: 'Client certificate file (PEM), for brokers that ask for one.', env: 'IOTD_CERT'}),
  key: Flags.string({summary: "The client certificate's key file (PEM).", env: 'IOTD_KEY'}),
  insecure: Flags.boolean({summary: "Do not verify the broker's TLS certificate (testing only; warned about).", env: 'IOTD_INSECURE'}),
}

/** Broker, credentials, TLS, client id and protocol version: what tail, record and replay connect with. */
export const mqttConnectionFlags = {
  broker: Flags.string({char: 'b', summary: 'Broker URL (mqtt://, mqtts://, ws://, wss://).', env: 'IOTD_BROKER', default: 'mqtt://127.0.0.1:1883'}),
  ...mqttCredentialFlags,
  ...mqttTlsFlags,
  'client-id': Flags.string({summary: 'Client id (default iotd-<pid>-<random>).', env: 'IOTD_CLIENT_ID'}),
  'mqtt-version': Flags.string({summary: 'MQTT protocol version (5 carries properties).', options: ['3.1.1', '5'], default: '3.1.1', env: 'IOTD_MQTT_VERSION'}),
}

interface ConnectionFlagValues {
  broker: string
  'mqtt-version': string
  username?: string
  password?: string
  ca?: string
  cert?: string
  key?: string
  insecure: boolean
  'client-id'?: string
}

/** The endpoint those flags name, as the publishing side (replay) takes it. */
export function mqttEndpointFromFlags(flags: ConnectionFlagValues): {url: string; protocol: '3.1.1' | '5'; username?: string; password?: string; clientId?: string; tls?: {ca?: string; cert?: string; key?: string}; insecure: boolean} {
  checkCredentials(flags['mqtt-version'] as '3.1.1' | '5', flags.username, flags.password, flags.broker)
  const files = flags.ca !== undefined || flags.cert !== undefined || flags.key !== undefined
  return {
    url: flags.broker,
    protocol: flags['mqtt-version'] as '3.1.1' | '5',
    username: flags.username,
    password: flags.password,
    clientId: flags['client-id'],
    ...(files ? {tls: {ca: flags.ca, cert: flags.cert, key: flags.key}} : {}),
    insecure: flags.insecure,
  }
}

/** The MQTT source options tail and record build from those flags (one copy, so they connect the same way). */
export function mqttSourceFromFlags(flags: ConnectionFlagValues & {qos: number; clean?: boolean}, topics: string[]): Partial<MqttSourceOptions> & {url: string} {
  return {
    ...mqttEndpointFromFlags(flags),
    topics,
    qos: flags.qos as 0 | 1 | 2,
    // false: a persistent session (with a fixed --client-id, the broker keeps unacknowledged messages for the next run).
    ...(flags.clean === undefined ? {} : {clean: flags.clean}),
    connectAttempts: 3,
  }
}
