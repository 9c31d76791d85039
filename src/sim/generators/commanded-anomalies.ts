import type {AnomalyLabel} from '../types.js'
import {anomalyName, createAnomaly, type AnomalyRuntime} from './anomalies.js'
import type {AnomalySpec} from './generator-schema.js'
import type {Rng} from './prng.js'

/**
 * The anomalies commands start and stop on one device (a `commands:` rule's `anomaly: {start: overheat}`). Each
 * declared anomaly gets, the first time a command names it, a runtime of its own beside the seeded ones: it never
 * starts by itself, draws from its own stream (so the seeded anomalies and generators go on as without commands),
 * and joins the device's field stepper, where the same precedence as for seeded starts decides what is visible.
 *
 * A command-started occurrence's label is written once its end is known: at the first message after it ended (its
 * duration ran out, or a stop command ended it), or at the end of the run (its planned end, or the stop's).
 */

interface Occurrence {
  runtime: AnomalyRuntime
  /** The label of the occurrence running now (held back until it ends). */
  open?: AnomalyLabel
}

export interface CommandedAnomalyHost {
  /** Adds a runtime to the device's anomalies (field stepper, and dropouts). */
  add(runtime: AnomalyRuntime): void
}

export class CommandedAnomalies {
  private readonly byName = new Map<string, {spec: AnomalySpec; index: number}>()
  private readonly running = new Map<string, Occurrence>()

  constructor(
    specs: readonly AnomalySpec[],
    private readonly key: (...rest: Array<string | number>) => Rng,
    private readonly host: CommandedAnomalyHost,
  ) {
    specs.forEach((spec, index) => this.byName.set(anomalyName(spec, index), {spec, index}))
  }

  has(name: string): boolean {
    return this.byName.has(name)
  }

  /** Starts the named anomaly at the next message (unless it still runs then); false: no such anomaly. */
  start(name: string, command: string): boolean {
    const declared = this.byName.get(name)
    if (!declared) return false
    let occurrence = this.running.get(name)
    if (!occurrence) {
      // Its own stream and no way to start by itself: only trigger() starts it.
      const runtime = createAnomaly({...declared.spec, probability: undefined, schedule: undefined}, this.key('anomaly-command', declared.index))
      occurrence = {runtime}
      this.running.set(name, occurrence)
      this.host.add(runtime)
    }
    // Taken at the next message, unless the occurrence running now still runs then.
    occurrence.runtime.trigger(name, command)
    return true
  }

  /** Ends the named anomaly's command-started occurrence at epoch ms atMs; false: no such anomaly. */
  stop(name: string, atMs: number): boolean {
    if (!this.byName.has(name)) return false
    this.running.get(name)?.runtime.halt(atMs)
    return true
  }

  /** Before a message at tsMs: the labels of occurrences that end before it (their end is final now). */
  ended(tsMs: number): AnomalyLabel[] {
    const out: AnomalyLabel[] = []
    for (const o of this.running.values()) {
      const label = o.open
      if (!label) continue
      const r = o.runtime
      if (r.active && r.spec.duration !== 0 && tsMs < r.end) continue
      out.push({...label, end: r.end})
      o.open = undefined
    }
    return out
  }

  /** After a message: takes the command-started labels out of what the stepper returned, and holds them open. */
  started(labels: readonly AnomalyLabel[]): AnomalyLabel[] {
    const rest: AnomalyLabel[] = []
    for (const label of labels) {
      const o = label.source === 'command' && label.name !== undefined ? this.running.get(label.name) : undefined
      if (o) o.open = label
      else rest.push(label)
    }
    return rest
  }

  /** The end of the run: the labels of occurrences still open, with the end they have now. */
  close(): AnomalyLabel[] {
    const out: AnomalyLabel[] = []
    for (const o of this.running.values()) {
      if (o.open) out.push({...o.open, end: o.runtime.end})
      o.open = undefined
    }
    return out
  }
}
