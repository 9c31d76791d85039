/**
 * Sparkplug B 3.0 data types: their numbers on the wire, their names in scenario files and decoded records, and which
 * protobuf `value` field carries each (the specification's table of metric value encodings).
 */

export const DATA_TYPES = {
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
  PropertySet: 20,
  PropertySetList: 21,
} as const

export type DataTypeName = keyof typeof DATA_TYPES

/** The types a simulated metric can have (DataSet, File, Template and the property-set types are decode-only). */
export const SCALAR_TYPES = ['Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float', 'Double', 'Boolean', 'String', 'DateTime', 'Text', 'UUID', 'Bytes'] as const
export type ScalarTypeName = (typeof SCALAR_TYPES)[number]

const NAME_OF = new Map<number, DataTypeName>(Object.entries(DATA_TYPES).map(([name, id]) => [id, name as DataTypeName]))

export function dataTypeName(id: number | undefined): DataTypeName | 'Unknown' {
  return (id !== undefined && NAME_OF.get(id)) || 'Unknown'
}

/** The protobuf oneof member that carries a value of this type. */
export type ValueField = 'intValue' | 'longValue' | 'floatValue' | 'doubleValue' | 'booleanValue' | 'stringValue' | 'bytesValue'

export function valueFieldOf(type: ScalarTypeName): ValueField {
  switch (type) {
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'UInt8':
    case 'UInt16':
    case 'UInt32':
      return 'intValue'
    case 'Int64':
    case 'UInt64':
    case 'DateTime':
      return 'longValue'
    case 'Float':
      return 'floatValue'
    case 'Double':
      return 'doubleValue'
    case 'Boolean':
      return 'booleanValue'
    case 'String':
    case 'Text':
    case 'UUID':
      return 'stringValue'
    case 'Bytes':
      return 'bytesValue'
  }
}

/** Integer ranges of the integer types, so a generated value is clamped to what the type can hold. */
export const INTEGER_RANGE: Partial<Record<ScalarTypeName, readonly [number, number]>> = {
  Int8: [-128, 127],
  Int16: [-32768, 32767],
  Int32: [-2147483648, 2147483647],
  UInt8: [0, 255],
  UInt16: [0, 65535],
  UInt32: [0, 4294967295],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
  DateTime: [0, Number.MAX_SAFE_INTEGER],
}

export function isNumericType(type: ScalarTypeName): boolean {
  return INTEGER_RANGE[type] !== undefined || type === 'Float' || type === 'Double'
}

/**
 * Signed types travel as their two's complement in the unsigned field (Int8..Int32 in the 32-bit int_value, Int64 in
 * the 64-bit long_value): a reader sign-extends by the declared type.
 */
export function signExtend(type: DataTypeName | 'Unknown', raw: number): number {
  switch (type) {
    case 'Int8':
      return (raw << 24) >> 24
    case 'Int16':
      return (raw << 16) >> 16
    case 'Int32':
      return raw | 0
    default:
      return raw
  }
}
