import type {GeneratorSpec} from './generator-schema.js'
import type {AnomalyLabel} from '../types.js'
import {visibleStarts, type AnomalyRuntime} from './anomalies.js'
import type {ExprScope, ExprValue} from './expression.js'
import {createFieldGenerator, type FieldGenerator, type FieldValue, type SampleContext} from './field-generators.js'
import {dependenciesOf, evaluationOrder} from './field-order.js'
import type {Rng} from './prng.js'
import type {LocalClock} from './calendar.js'

/** What step() returns when no anomaly starts: shared, and never changed by anyone (callers only read labels). */
const NO_LABELS: readonly AnomalyLabel[] = []

interface FieldSlot {
  name: string
  generator: FieldGenerator
  anomalies: AnomalyRuntime[]
}

export interface FieldStepperOptions {
  /** Field (or tag) generators in declared order. */
  fields: ReadonlyArray<readonly [string, GeneratorSpec]>
  /** This device's anomalies (already chosen by share); dropouts begin here but change no field. */
  anomalies: readonly AnomalyRuntime[]
  /** The device's random stream for a field: key('field', name). */
  key: (...rest: Array<string | number>) => Rng
  renderConstant: (text: string) => string
  /** The fleet's local time (its `timezone`), for daily profiles; UTC without one. */
  clock?: LocalClock
}

/**
 * One device's fields stepped together, the mechanism an MQTT device model and a simulated Modbus device share:
 * each update starts the anomalies due (keeping only those that would be visible, anomalies.ts visibleStarts), then steps every generator in dependency order (derived fields see the
 * values of this update), applies the active anomalies, and keeps the values where expressions read them
 * (`$dt`, `$t`, `$n`, `$mode`, other fields and their `.members`).
 */
export class FieldStepper {
  /** Current values, in declared order. */
  readonly values: Map<string, FieldValue>
  private readonly slots: FieldSlot[]
  private readonly anomalies: AnomalyRuntime[]
  private firstTsMs = 0
  private lastTsMs = 0
  private readonly ctx: SampleContext = {n: 0, tsMs: 0, localMs: 0, dtS: 0, elapsedS: 0, mode: 'default'}
  private readonly clock: LocalClock | undefined

  constructor(o: FieldStepperOptions) {
    const specs = new Map(o.fields)
    const declared = o.fields.map(([name]) => name)
    const order = evaluationOrder(declared, new Map(declared.map((name) => [name, dependenciesOf(specs.get(name)!)])))
    this.anomalies = [...o.anomalies]
    this.clock = o.clock
    this.slots = order.map((name) => ({
      name,
      generator: createFieldGenerator(specs.get(name)!, {rng: o.key('field', name), renderConstant: o.renderConstant}),
      anomalies: o.anomalies.filter((a) => a.spec.field === name && a.spec.kind !== 'dropout'),
    }))
    // Seeded in declared order, so iterating the values gives the payload order whatever the evaluation order.
    this.values = new Map(declared.map((name) => [name, 0]))
  }

  /** One more anomaly from the next update on (one a command started: commanded-anomalies.ts). */
  addAnomaly(a: AnomalyRuntime): void {
    this.anomalies.push(a)
    if (a.spec.kind === 'dropout') return
    for (const slot of this.slots) if (slot.name === a.spec.field) slot.anomalies.push(a)
  }

  /** Epoch ms of update 0 (anomaly and fault schedules count from it). */
  get startedAtMs(): number {
    return this.firstTsMs
  }

  /**
   * Update n at tsMs. `keep` may replace a generated value (a Modbus setpoint a client wrote); the generator has
   * stepped all the same, so its stream does not depend on writes. Returns the labels of anomalies that begin now.
   */
  step(n: number, tsMs: number, mode: string, deviceId: string, keep?: (name: string, generated: FieldValue) => FieldValue): readonly AnomalyLabel[] {
    if (n === 0) this.firstTsMs = this.lastTsMs = tsMs
    // One context object, updated in place: generators read it during next() and keep nothing of it.
    const ctx = this.ctx
    ctx.n = n
    ctx.tsMs = tsMs
    ctx.localMs = this.clock ? this.clock.local(tsMs) : tsMs
    ctx.dtS = Math.max(0, (tsMs - this.lastTsMs) / 1000)
    ctx.elapsedS = (tsMs - this.firstTsMs) / 1000
    ctx.mode = mode
    this.lastTsMs = tsMs
    let labels: readonly AnomalyLabel[] = NO_LABELS
    if (this.anomalies.length > 0) {
      const started: Array<{anomaly: AnomalyRuntime; label: AnomalyLabel}> = []
      for (const a of this.anomalies) {
        const label = a.begin(tsMs, this.firstTsMs, deviceId)
        if (label) started.push({anomaly: a, label})
      }
      // Starts that nothing would show (a spike inside a stuck window, anything inside a dropout) are cancelled.
      labels = visibleStarts(this.anomalies, started)
    }
    for (const slot of this.slots) {
      let v = slot.generator.next(ctx, this.scope)
      for (const a of slot.anomalies) if (a.active) v = a.apply(v, tsMs, slot.generator)
      this.values.set(slot.name, keep ? keep(slot.name, v) : v)
    }
    return labels
  }

  /**
   * A field's value in `mode` when its generator's value is the mode's alone (generator-kind.ts modeOnly), else
   * undefined: asked between updates, it draws and changes nothing.
   */
  valueInMode(name: string, mode: string): FieldValue | undefined {
    const slot = this.slots.find((s) => s.name === name)
    return slot?.generator.modeOnly ? slot.generator.next({...this.ctx, mode}, this.scope) : undefined
  }

  private readonly scope: ExprScope = (path) => {
    switch (path) {
      case '$dt':
        return this.ctx.dtS
      case '$t':
        return this.ctx.elapsedS
      case '$n':
        return this.ctx.n
      case '$mode':
        return this.ctx.mode
      // $prev is answered by the derived generator itself, which keeps its unrounded previous value.
    }
    const dot = path.indexOf('.')
    const v = this.values.get(dot < 0 ? path : path.slice(0, dot))
    if (v !== null && typeof v === 'object') return dot < 0 ? NaN : ((v as unknown as Record<string, number>)[path.slice(dot + 1)] ?? NaN)
    return (v as ExprValue | undefined) ?? NaN
  }
}
