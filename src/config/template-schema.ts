import {z} from 'zod'
import {parseTemplate, TemplateError} from './template.js'

/** A template string whose braces are well formed; unknown names are checked later, against the device's vars. */
export function template(mode: 'strict' | 'lenient' = 'strict') {
  return z.string().superRefine((value, ctx) => {
    try {
      parseTemplate(value, mode)
    } catch (error) {
      if (error instanceof TemplateError) ctx.addIssue({code: 'custom', message: `bad template "${value}": ${error.message}`})
      else throw error
    }
  })
}
