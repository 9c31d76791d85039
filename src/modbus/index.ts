export * from './types.js'
export {parseNotation, formatNotation, resolveAddress, type NotationAddress, type AddressOptions} from './address.js'
export {bytesToWords, wordsToBytes, toRaw, writeProblem, encodeTag, decodeRaw, decodeTag, decodeTagExact, toEngineering, shortestFloat32, registerValue} from './codec.js'
export {tagFields, deviceMapFields, resolveTag, resolveTagList, TAG_NAME, type RawTag, type TagProblem, type DeviceMapOptions} from './tag-map.js'
export {planReads, decodeRead, type PlannedRead, type PlanOptions} from './planner.js'
export {
  ModbusException,
  encodeRequest,
  decodeRequest,
  encodeResponse,
  decodeResponse,
  encodeException,
  handleRequest,
  type ModbusRequest,
  type ModbusResult,
  type RegisterBank,
} from './pdu.js'
export {encodeFrame, FrameReader, FramingError, MBAP_HEADER, type Frame} from './mbap.js'
