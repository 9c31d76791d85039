/** Small helpers that keep the function tables readable. */
import type {ParamSpec, ParamType} from './types.js'

export function param(name: string, type: ParamType = 'any', literal = false): ParamSpec {
  return literal ? {name, type, literal} : {name, type}
}

export function num(name = 'x'): ParamSpec {
  return param(name, 'number')
}

export function str(name = 's'): ParamSpec {
  return param(name, 'string')
}

/** A number argument as a finite number, or null. */
export function asNumber(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null
}

export function asString(v: unknown): string | null {
  return typeof v === 'string' ? v : null
}

export function asInteger(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) ? v : null
}
