import protobuf from 'protobufjs/light.js'
import {shortestFloat32} from '../modbus/codec.js'
import {DATA_TYPES as DATATYPE_ID, dataTypeName, signExtend, valueFieldOf, type DataTypeName, type ScalarTypeName} from './datatypes.js'

/**
 * The Sparkplug B payload (org.eclipse.tahu.protobuf.Payload, proto2) as protobufjs reflection built from the field
 * numbers of the Sparkplug 3.0 specification, and iotd's plain view of it: metrics with a data type name and one
 * decoded value, properties as a name -> value map. Field names are camelCase here; the wire only knows numbers.
 *
 * 64-bit fields (timestamps, seq, alias, long values) decode as numbers while they are exact; a UInt64/Int64 value
 * past 2^53 decodes as a bigint rather than a rounded number.
 */

const valueOneof = (fields: string[]) => ({oneof: fields})
const U64 = 'uint64'
const SCALAR_VALUES = ['intValue', 'longValue', 'floatValue', 'doubleValue', 'booleanValue', 'stringValue']

/** The six scalar members every value oneof of the payload starts with, numbered from `first` in the same order. */
function scalarValueFields(first: number) {
  const types = ['uint32', U64, 'float', 'double', 'bool', 'string']
  return Object.fromEntries(SCALAR_VALUES.map((name, i) => [name, {type: types[i], id: first + i}]))
}

const DESCRIPTOR = {
  nested: {
    Payload: {
      // proto2: optional fields have explicit presence, so seq 0, bdSeq 0 and false are written, not left out.
      edition: 'proto2',
      fields: {
        timestamp: {type: U64, id: 1},
        metrics: {rule: 'repeated', type: 'Metric', id: 2},
        seq: {type: U64, id: 3},
        uuid: {type: 'string', id: 4},
        body: {type: 'bytes', id: 5},
      },
      nested: {
        Template: {
          oneofs: {},
          fields: {
            version: {type: 'string', id: 1},
            metrics: {rule: 'repeated', type: 'Metric', id: 2},
            parameters: {rule: 'repeated', type: 'Parameter', id: 3},
            templateRef: {type: 'string', id: 4},
            isDefinition: {type: 'bool', id: 5},
          },
          nested: {
            Parameter: {
              oneofs: {value: valueOneof(SCALAR_VALUES)},
              fields: {name: {type: 'string', id: 1}, type: {type: 'uint32', id: 2}, ...scalarValueFields(3)},
            },
          },
        },
        DataSet: {
          fields: {
            numOfColumns: {type: U64, id: 1},
            columns: {rule: 'repeated', type: 'string', id: 2},
            // proto2: repeated scalars are not packed unless declared so.
            types: {rule: 'repeated', type: 'uint32', id: 3, options: {packed: false}},
            rows: {rule: 'repeated', type: 'Row', id: 4},
          },
          nested: {
            DataSetValue: {
              oneofs: {value: valueOneof(SCALAR_VALUES)},
              fields: scalarValueFields(1),
            },
            Row: {fields: {elements: {rule: 'repeated', type: 'DataSetValue', id: 1}}},
          },
        },
        PropertyValue: {
          oneofs: {value: valueOneof([...SCALAR_VALUES, 'propertysetValue', 'propertysetsValue'])},
          fields: {
            type: {type: 'uint32', id: 1},
            isNull: {type: 'bool', id: 2},
            ...scalarValueFields(3),
            propertysetValue: {type: 'PropertySet', id: 9},
            propertysetsValue: {type: 'PropertySetList', id: 10},
          },
        },
        PropertySet: {
          fields: {
            keys: {rule: 'repeated', type: 'string', id: 1},
            values: {rule: 'repeated', type: 'PropertyValue', id: 2},
          },
        },
        PropertySetList: {fields: {propertyset: {rule: 'repeated', type: 'PropertySet', id: 1}}},
        MetaData: {
          fields: {
            isMultiPart: {type: 'bool', id: 1},
            contentType: {type: 'string', id: 2},
            size: {type: U64, id: 3},
            seq: {type: U64, id: 4},
            fileName: {type: 'string', id: 5},
            fileType: {type: 'string', id: 6},
            md5: {type: 'string', id: 7},
            description: {type: 'string', id: 8},
          },
        },
        Metric: {
          oneofs: {value: valueOneof([...SCALAR_VALUES, 'bytesValue', 'datasetValue', 'templateValue'])},
          fields: {
            name: {type: 'string', id: 1},
            alias: {type: U64, id: 2},
            timestamp: {type: U64, id: 3},
            datatype: {type: 'uint32', id: 4},
            isHistorical: {type: 'bool', id: 5},
            isTransient: {type: 'bool', id: 6},
            isNull: {type: 'bool', id: 7},
            metadata: {type: 'MetaData', id: 8},
            properties: {type: 'PropertySet', id: 9},
            ...scalarValueFields(10),
            bytesValue: {type: 'bytes', id: 16},
            datasetValue: {type: 'DataSet', id: 17},
            templateValue: {type: 'Template', id: 18},
          },
        },
      },
    },
  },
}

let payloadType: protobuf.Type | undefined
function type(): protobuf.Type {
  payloadType ??= protobuf.Root.fromJSON(DESCRIPTOR).lookupType('Payload')
  return payloadType
}

export interface DataSetValue {
  columns: string[]
  types: Array<DataTypeName | 'Unknown'>
  rows: MetricValue[][]
}

export interface TemplateValue {
  templateRef?: string
  isDefinition: boolean
  version?: string
  metrics: SparkplugMetric[]
  parameters: Record<string, MetricValue>
}

export type MetricValue = number | bigint | boolean | string | Uint8Array | DataSetValue | TemplateValue | PropertyMap | PropertyMap[] | null

export type PropertyMap = {[key: string]: MetricValue}

export interface SparkplugMetric {
  name?: string
  alias?: number
  timestamp?: number
  /** The data type's name; births carry it, data messages may leave it out (the birth said it). */
  datatype?: DataTypeName | 'Unknown'
  value: MetricValue
  isHistorical?: boolean
  isTransient?: boolean
  /** Properties (engineering units, limits, ...) by key. */
  properties?: PropertyMap
}

export interface SparkplugPayload {
  timestamp?: number
  /** 0..255 per edge node; absent on NDEATH (and STATE, which is not protobuf). */
  seq?: number
  uuid?: string
  body?: Uint8Array
  metrics: SparkplugMetric[]
}

/** A metric to encode: a scalar of a declared type (null sends is_null). */
export interface MetricToEncode {
  name?: string
  alias?: number
  timestamp?: number
  datatype: ScalarTypeName
  value: number | bigint | boolean | string | Uint8Array | null
  properties?: Record<string, {type: ScalarTypeName; value: number | bigint | boolean | string}>
  isHistorical?: boolean
  /** Leave the datatype off the wire (data messages: the birth declared it). */
  omitDatatype?: boolean
}

export interface PayloadToEncode {
  timestamp?: number
  seq?: number
  uuid?: string
  metrics: MetricToEncode[]
}

type Long = protobuf.Long
const Long = protobuf.util.Long as unknown as {fromString(s: string, unsigned: boolean): Long; fromNumber(n: number, unsigned: boolean): Long; fromBits(lo: number, hi: number, unsigned: boolean): Long}

/** A 64-bit field's value: a two's complement bit pattern, so negative Int64 values survive the unsigned field. */
function toUint64(v: number | bigint): Long | number {
  if (typeof v === 'bigint') return Long.fromString(BigInt.asUintN(64, v).toString(), true)
  if (v >= 0 && Number.isSafeInteger(v)) return v
  return Long.fromString(BigInt.asUintN(64, BigInt(Math.trunc(v))).toString(), true)
}

function scalarFields(type: ScalarTypeName, value: number | bigint | boolean | string | Uint8Array): Record<string, unknown> {
  const field = valueFieldOf(type)
  switch (field) {
    case 'intValue':
      return {intValue: Number(value) >>> 0}
    case 'longValue':
      return {longValue: toUint64(typeof value === 'bigint' ? value : Number(value))}
    case 'floatValue':
    case 'doubleValue':
      return {[field]: Number(value)}
    case 'booleanValue':
      return {booleanValue: Boolean(value)}
    case 'stringValue':
      return {stringValue: String(value)}
    case 'bytesValue':
      return {bytesValue: value instanceof Uint8Array ? value : Buffer.from(String(value))}
  }
}

/** Encodes one payload (NBIRTH, DBIRTH, NDATA, DDATA, NDEATH, DDEATH, NCMD, DCMD) to its protobuf bytes. */
export function encodePayload(p: PayloadToEncode): Uint8Array {
  const t = type()
  const message = {
    timestamp: p.timestamp,
    seq: p.seq,
    uuid: p.uuid,
    metrics: p.metrics.map((m) => {
      const out: Record<string, unknown> = {name: m.name, alias: m.alias, timestamp: m.timestamp, datatype: m.omitDatatype ? undefined : DATATYPE_ID[m.datatype]}
      if (m.isHistorical) out.isHistorical = true
      if (m.value === null) out.isNull = true
      else Object.assign(out, scalarFields(m.datatype, m.value))
      if (m.properties) {
        const keys = Object.keys(m.properties)
        out.properties = {
          keys,
          values: keys.map((k) => {
            const pv = m.properties![k]
            return {type: DATATYPE_ID[pv.type], ...scalarFields(pv.type, pv.value)}
          }),
        }
      }
      return out
    }),
  }
  return t.encode(t.fromObject(message)).finish()
}

/** Decodes a Sparkplug B payload; throws an Error naming what is wrong when the bytes are not one. */
export function decodePayload(bytes: Uint8Array): SparkplugPayload {
  const m = type().decode(bytes) as unknown as RawPayload
  const out: SparkplugPayload = {metrics: (m.metrics ?? []).map(decodeMetric)}
  if (has(m, 'timestamp')) out.timestamp = toNumber(m.timestamp)
  if (has(m, 'seq')) out.seq = toNumber(m.seq)
  if (has(m, 'uuid')) out.uuid = m.uuid
  if (has(m, 'body')) out.body = m.body
  return out
}

interface RawValueHolder {
  intValue?: number
  longValue?: Long | number
  floatValue?: number
  doubleValue?: number
  booleanValue?: boolean
  stringValue?: string
  bytesValue?: Uint8Array
  datasetValue?: RawDataSet
  templateValue?: RawTemplate
  propertysetValue?: RawPropertySet
  propertysetsValue?: {propertyset?: RawPropertySet[]}
}
interface RawMetric extends RawValueHolder {
  name?: string
  alias?: Long | number
  timestamp?: Long | number
  datatype?: number
  isHistorical?: boolean
  isTransient?: boolean
  isNull?: boolean
  properties?: RawPropertySet
}
interface RawPropertySet {
  keys?: string[]
  values?: Array<RawValueHolder & {type?: number; isNull?: boolean}>
}
interface RawDataSet {
  columns?: string[]
  types?: number[]
  rows?: Array<{elements?: RawValueHolder[]}>
}
interface RawTemplate {
  version?: string
  metrics?: RawMetric[]
  parameters?: Array<RawValueHolder & {name?: string; type?: number}>
  templateRef?: string
  isDefinition?: boolean
}
interface RawPayload {
  timestamp?: Long | number
  metrics?: RawMetric[]
  seq?: Long | number
  uuid?: string
  body?: Uint8Array
}

/** protobufjs decodes absent proto2 optionals as the prototype's default: only own properties were on the wire. */
function has<T extends object>(o: T, key: keyof T): boolean {
  return Object.prototype.hasOwnProperty.call(o, key)
}

function toNumber(v: Long | number | undefined): number {
  if (v === undefined) return 0
  return typeof v === 'number' ? v : (v.high >>> 0) * 0x1_0000_0000 + (v.low >>> 0)
}

/** A long_value read as the declared type: Int64 sign-extended, exact as a bigint past 2^53. */
function longOf(v: Long | number, type: DataTypeName | 'Unknown'): number | bigint {
  if (typeof v === 'number') return v
  const big = BigInt.asUintN(64, (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0))
  const value = type === 'Int64' ? BigInt.asIntN(64, big) : big
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value
}

function valueOf(h: RawValueHolder, type: DataTypeName | 'Unknown'): MetricValue {
  if (has(h, 'intValue')) return type === 'Boolean' ? h.intValue !== 0 : signExtend(type, h.intValue as number)
  if (has(h, 'longValue')) return longOf(h.longValue as Long | number, type)
  // A float travels as 32 bits: 62.2 arrives as 62.20000076293945, and is shown as the shortest decimal that is
  // the same float.
  if (has(h, 'floatValue')) return shortestFloat32(h.floatValue as number)
  if (has(h, 'doubleValue')) return h.doubleValue as number
  if (has(h, 'booleanValue')) return h.booleanValue as boolean
  if (has(h, 'stringValue')) return h.stringValue as string
  if (has(h, 'bytesValue')) return h.bytesValue as Uint8Array
  if (has(h, 'datasetValue')) return decodeDataSet(h.datasetValue as RawDataSet)
  if (has(h, 'templateValue')) return decodeTemplate(h.templateValue as RawTemplate)
  if (has(h, 'propertysetValue')) return decodeProperties(h.propertysetValue as RawPropertySet)
  if (has(h, 'propertysetsValue')) return (h.propertysetsValue?.propertyset ?? []).map(decodeProperties)
  return null
}

function decodeProperties(ps: RawPropertySet): PropertyMap {
  const out: PropertyMap = {}
  const keys = ps.keys ?? []
  const values = ps.values ?? []
  keys.forEach((k, i) => {
    const v = values[i]
    out[k] = v === undefined || v.isNull ? null : valueOf(v, dataTypeName(v.type))
  })
  return out
}

function decodeDataSet(ds: RawDataSet): DataSetValue {
  const types = (ds.types ?? []).map(dataTypeName)
  return {columns: ds.columns ?? [], types, rows: (ds.rows ?? []).map((r) => (r.elements ?? []).map((e, i) => valueOf(e, types[i] ?? 'Unknown')))}
}

function decodeTemplate(t: RawTemplate): TemplateValue {
  const parameters: Record<string, MetricValue> = {}
  for (const p of t.parameters ?? []) if (p.name !== undefined) parameters[p.name] = valueOf(p, dataTypeName(p.type))
  const out: TemplateValue = {isDefinition: t.isDefinition ?? false, metrics: (t.metrics ?? []).map(decodeMetric), parameters}
  if (has(t, 'templateRef')) out.templateRef = t.templateRef
  if (has(t, 'version')) out.version = t.version
  return out
}

function decodeMetric(m: RawMetric): SparkplugMetric {
  const datatype = has(m, 'datatype') ? dataTypeName(m.datatype) : undefined
  const out: SparkplugMetric = {value: m.isNull ? null : valueOf(m, datatype ?? 'Unknown')}
  if (has(m, 'name')) out.name = m.name
  if (has(m, 'alias')) out.alias = toNumber(m.alias)
  if (has(m, 'timestamp')) out.timestamp = toNumber(m.timestamp)
  if (datatype !== undefined) out.datatype = datatype
  if (m.isHistorical) out.isHistorical = true
  if (m.isTransient) out.isTransient = true
  if (has(m, 'properties')) out.properties = decodeProperties(m.properties as RawPropertySet)
  return out
}

/**
 * A data message may leave the type out (the birth declared it): read its value again with the type the birth gave,
 * so signed integers come out signed.
 */
export function retypeValue(metric: SparkplugMetric, datatype: DataTypeName | 'Unknown'): MetricValue {
  const v = metric.value
  if (typeof v === 'number' && (datatype === 'Int8' || datatype === 'Int16' || datatype === 'Int32')) return signExtend(datatype, v >>> 0)
  if (datatype === 'Int64' && (typeof v === 'bigint' || typeof v === 'number')) {
    const big = BigInt.asIntN(64, BigInt(v))
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big
  }
  if (datatype === 'Boolean' && typeof v === 'number') return v !== 0
  return v
}

/** A value as JSON can carry it: bigints as decimal strings, bytes as base64. */
export function jsonValue(v: MetricValue): unknown {
  if (typeof v === 'bigint') return v.toString()
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
  if (Array.isArray(v)) return v.map((x) => jsonValue(x))
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) out[k] = jsonValue(x as MetricValue)
    return out
  }
  return v
}
