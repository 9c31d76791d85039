import {z} from 'zod'

/**
 * Parameter shapes several generator kinds share. Parameters carry no zod defaults (a kind's `defaults` states
 * them and its `create` applies them) so `byMode` overrides can reuse the same shapes as partial objects without
 * defaults leaking into them.
 */
export const scalar = z.union([z.string(), z.number(), z.boolean()])
export const resolution = z.number().positive('resolution must be greater than zero').optional().meta({description: 'Quantisation step of the sensor, e.g. 0.1; values are rounded to it and printed with its decimals.'})
export const probability = z.number().min(0, 'a probability must be between 0 and 1').max(1, 'a probability must be between 0 and 1')
export const nonNegative = (name: string) => z.number().min(0, `${name} must be >= 0`)
export const latitude = z.number().min(-90, 'latitude must be in [-90, 90]').max(90, 'latitude must be in [-90, 90]')
export const longitude = z.number().min(-180, 'longitude must be in [-180, 180]').max(180, 'longitude must be in [-180, 180]')
