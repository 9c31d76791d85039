import type {Scenario} from '../scenario/schema.js'
import {parseTemplate, renderTemplate} from '../scenario/template.js'
import type {AnomalyLabel, DeviceSample, DeviceSpec} from '../types.js'
import {createAnomaly, isDeviceAffected, type AnomalyRuntime} from './anomalies.js'
import {createEncoder} from './encoders.js'
import type {ExprScope, ExprValue} from './expression.js'
import {createFieldGenerator, type FieldGenerator, type FieldValue, type SampleContext} from './field-generators.js'
import {dependenciesOf, evaluationOrder} from './field-order.js'
import {createModeMachine, type ModeMachine} from './mode-machine.js'
import {createRng} from './prng.js'

/** Produces one device's messages: mode step → fields (dependency order, anomalies applied) → payload. */
export interface DeviceModel {
  /** n = 0, 1, 2, ... called in order; tsMs = the message's timestamp (epoch ms). */
  sample(n: number, tsMs: number): DeviceSample
}

interface FieldSlot {
  name: string
  generator: FieldGenerator
  anomalies: AnomalyRuntime[]
}

export function createDeviceModel(scenario: Scenario, device: DeviceSpec): DeviceModel {
  const fleet = scenario.fleets.find((f) => f.name === device.fleet)
  if (!fleet) throw new Error(`device ${device.deviceId} names fleet "${device.fleet}", which the scenario does not have`)
  const seed = scenario.seed
  const key = (...rest: Array<string | number>) => createRng([seed, fleet.name, device.index, ...rest])
  const renderConstant = (text: string) => renderTemplate(parseTemplate(text, 'lenient'), (name) => device.vars[name])

  const declared = Object.keys(fleet.fields)
  const deps = new Map(declared.map((name) => [name, dependenciesOf(fleet.fields[name])]))
  const order = evaluationOrder(declared, deps)

  const anomalies = fleet.anomalies
    .map((spec, k) => ({spec, k}))
    .filter(({spec, k}) => isDeviceAffected(seed, fleet.name, device.index, k, spec.share))
    .map(({spec, k}) => createAnomaly(spec, key('anomaly', k)))
  const dropouts = anomalies.filter((a) => a.spec.kind === 'dropout')

  const slots: FieldSlot[] = order.map((name) => ({
    name,
    generator: createFieldGenerator(fleet.fields[name], {rng: key('field', name), renderConstant}),
    anomalies: anomalies.filter((a) => a.spec.field === name && a.spec.kind !== 'dropout'),
  }))
  const encode = createEncoder(fleet.payload, declared)
  const modes: ModeMachine | undefined = fleet.mode ? createModeMachine(fleet.mode, key('mode')) : undefined

  // Declared order is the payload order; the Map is refilled in evaluation order, so seed it in declared order.
  const values = new Map<string, FieldValue>(declared.map((name) => [name, 0]))
  let firstTsMs = 0
  let lastTsMs = 0
  let ctx: SampleContext = {n: 0, tsMs: 0, dtS: 0, elapsedS: 0, mode: 'default'}

  const scope: ExprScope = (path) => {
    switch (path) {
      case '$dt':
        return ctx.dtS
      case '$t':
        return ctx.elapsedS
      case '$n':
        return ctx.n
      case '$mode':
        return ctx.mode
      // $prev is answered by the derived generator itself, which keeps its unrounded previous value.
    }
    const dot = path.indexOf('.')
    const v = values.get(dot < 0 ? path : path.slice(0, dot))
    if (v !== null && typeof v === 'object') return dot < 0 ? NaN : ((v as unknown as Record<string, number>)[path.slice(dot + 1)] ?? NaN)
    return (v as ExprValue | undefined) ?? NaN
  }

  return {
    sample(n, dueMs) {
      // Payload timestamps and labels are whole milliseconds even when the scheduler works in fractions.
      const tsMs = Math.round(dueMs)
      if (n === 0) firstTsMs = lastTsMs = tsMs
      const mode = modes ? (n === 0 ? modes.current : modes.step()) : 'default'
      ctx = {n, tsMs, dtS: Math.max(0, (tsMs - lastTsMs) / 1000), elapsedS: (tsMs - firstTsMs) / 1000, mode}
      lastTsMs = tsMs

      const labels: AnomalyLabel[] = []
      for (const a of anomalies) {
        const label = a.begin(tsMs, firstTsMs, device.deviceId)
        if (label) labels.push(label)
      }
      for (const slot of slots) {
        let v = slot.generator.next(ctx, scope)
        for (const a of slot.anomalies) if (a.active) v = a.apply(v, tsMs, slot.generator)
        values.set(slot.name, v)
      }
      // Generators step even while a dropout hides the message, so the signal continues where it would be.
      const suppressed = dropouts.some((a) => a.active)
      return {payload: suppressed ? null : encode(values), labels}
    },
  }
}
