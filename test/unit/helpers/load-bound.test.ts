import {describe, expect, it} from 'vitest'
import {currentLoad, loadAwareBound, loadSlowdown, type MachineLoad} from '../../helpers/load-bound.js'

/** The timing bounds of the suite: quiet on a quiet machine, proportional to the load on a busy one, never a jump. */

const machine = (average: number, runnable = Number.NaN, cores = 2): MachineLoad => ({average, runnable, cores})

describe('loadAwareBound', () => {
  it('keeps the quiet bound while every runnable thread has a core', () => {
    expect(loadAwareBound(20, machine(0.4, 1))).toBe(20)
    expect(loadAwareBound(20, machine(2, 2))).toBe(20)
  })

  it('grows in proportion to runnable threads per core (load 3.7 on 2 cores: x1.85, not x10)', () => {
    expect(loadAwareBound(20, machine(3.7))).toBe(37)
    expect(loadAwareBound(50, machine(8, Number.NaN, 2))).toBe(200)
    expect(loadAwareBound(100, machine(6, Number.NaN, 4))).toBe(150)
  })

  it('has no step at one thread per core: a little more load widens a little', () => {
    const justAbove = loadAwareBound(100, machine(2.02))
    expect(justAbove).toBeGreaterThan(100)
    expect(justAbove).toBeLessThanOrEqual(102)
    let previous = 100
    for (let load = 0; load <= 20; load += 0.25) {
      const b = loadAwareBound(100, machine(load))
      expect(b).toBeGreaterThanOrEqual(previous)
      expect(b - previous).toBeLessThanOrEqual(13)
      previous = b
    }
  })

  it('follows load that began after the 1-minute average could show it (threads running now)', () => {
    expect(loadSlowdown(machine(0.5, 6))).toBe(3)
    expect(loadSlowdown(machine(6, 1))).toBe(3)
    expect(loadAwareBound(20, machine(0.5, 6))).toBe(60)
  })

  it.runIf(process.platform === 'linux')('counts the threads of a burst that is over by the time the bound is asked for', async () => {
    // Four threads spinning for 1 s, then a quiet 100 ms: the count now is back to normal, but the bound still covers
    // the run the burst slowed. (Workers: the spinning must be in threads the kernel can count as runnable.)
    const {Worker} = await import('node:worker_threads')
    const spin = 'const end = Date.now() + 1000; while (Date.now() < end) {}'
    const workers = Array.from({length: 4}, () => new Worker(spin, {eval: true}))
    await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))))
    await new Promise((r) => setTimeout(r, 100))
    expect(currentLoad().runnable).toBeGreaterThanOrEqual(4)
  })
})
