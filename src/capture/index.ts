export * from './format.js'
export {captureHeaderLine, createCaptureStringifier, csvCell, csvLine} from './writer.js'
