import {defineGenerator, modal} from '../generator-kind.js'
import {scalar} from '../param-types.js'

export const constantGenerator = defineGenerator({
  kind: 'constant',
  doc: `A fixed value. A bare scalar in \`fields\` is a constant; strings are templates over the device's placeholders.`,
  example: `unit: "°C"
site: "{deviceId}"
rated: {kind: constant, value: 7.5}`,
  params: {value: scalar},
  modal: true,
  create(spec, gctx) {
    const params = modal(spec)
    const rendered = new Map<string, string>()
    const renderOnce = (text: string) => {
      let out = rendered.get(text)
      if (out === undefined) rendered.set(text, (out = gctx.renderConstant(text)))
      return out
    }
    return {
      modeOnly: true,
      next(ctx) {
        const v = params(ctx.mode).value
        return typeof v === 'string' ? renderOnce(v) : v
      },
    }
  },
})
