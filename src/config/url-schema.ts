/**
 * A URL option of a config file, checked by the same function the connection code calls before it connects
 * (parseEndpointUrl, parseNatsServers, checkUrl of net/), so a file that validates has URLs a run accepts. The
 * message is that function's, the URL in it redacted; the config loader puts it at the value's file:line:col.
 */
import {z} from 'zod'
import {UsageError} from '../errors.js'

export function checkedUrl(check: (url: string) => unknown) {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      try {
        check(value)
      } catch (error) {
        if (!(error instanceof UsageError)) throw error
        ctx.addIssue({code: 'custom', message: error.message, input: value})
      }
    })
}
