import type {MqttSourceOptions} from '../pipeline/sources/mqtt.js'

/** The flags `iotd tail` and `iotd record` share to reach a broker. */
interface MqttSourceFlags {
  broker: string
  qos: number
  'mqtt-version': string
  username?: string
  password?: string
  'client-id'?: string
  insecure: boolean
  /** false: a persistent session (with a fixed --client-id, the broker keeps unacknowledged messages for the next run). */
  clean?: boolean
}

/** The MQTT source options both commands build from those flags (one copy, so they connect the same way). */
export function mqttSourceFromFlags(flags: MqttSourceFlags, topics: string[]): Partial<MqttSourceOptions> & {url: string} {
  return {
    url: flags.broker,
    topics,
    qos: flags.qos as 0 | 1 | 2,
    protocol: flags['mqtt-version'] as '3.1.1' | '5',
    username: flags.username,
    password: flags.password,
    clientId: flags['client-id'],
    insecure: flags.insecure,
    ...(flags.clean === undefined ? {} : {clean: flags.clean}),
    connectAttempts: 3,
  }
}
