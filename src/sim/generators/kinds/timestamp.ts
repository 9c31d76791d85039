import {z} from 'zod'
import {defineGenerator} from '../generator-kind.js'

export const timestampGenerator = defineGenerator({
  kind: 'timestamp',
  doc: `The message time: \`format: epoch-ms\` (default), \`epoch-s\` (whole seconds) or \`iso\`.`,
  example: `ts: {kind: timestamp, format: iso}`,
  params: {format: z.enum(['epoch-ms', 'epoch-s', 'iso']).optional()},
  defaults: {format: 'epoch-ms'},
  create(spec) {
    const {format} = spec
    return {next: (ctx) => (format === 'iso' ? new Date(ctx.tsMs).toISOString() : format === 'epoch-s' ? Math.floor(ctx.tsMs / 1000) : ctx.tsMs)}
  },
})
