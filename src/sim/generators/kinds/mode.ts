import {defineGenerator} from '../generator-kind.js'

export const modeGenerator = defineGenerator({
  kind: 'mode',
  doc: `The device's current mode name (needs a \`mode:\` block; see above).`,
  example: ``,
  params: {},
  create: () => ({modeOnly: true, next: (ctx) => ctx.mode}),
})
