import {describe, expect, it} from 'vitest'
import {progressBar} from '../../../src/report/progress-bar.js'
import {SPARK_LEVELS, sparkline} from '../../../src/report/sparkline.js'

describe('sparkline', () => {
  it('scales to the largest value shown, lowest block for zero', () => {
    expect(sparkline([0, 1, 2, 4, 8], 5)).toBe('▁▂▃▅█')
  })

  it('draws a trickle above silence', () => {
    expect(sparkline([0, 1, 1000], 3)).toBe('▁▂█')
  })

  it('keeps the newest values at the right edge and pads a short history', () => {
    expect(sparkline([8, 8], 4)).toBe('  ██')
    const long = Array.from({length: 100}, (_, i) => i)
    const line = sparkline(long, 60)
    expect([...line]).toHaveLength(60)
    expect(line.endsWith('█')).toBe(true)
  })

  it('honours an explicit maximum and is flat when nothing happened', () => {
    expect(sparkline([5], 1, 10)).toBe('▅')
    expect(sparkline([20], 1, 10)).toBe('█')
    expect(sparkline([0, 0, 0], 3)).toBe(SPARK_LEVELS[0].repeat(3))
    expect(sparkline([1, 2], 0)).toBe('')
  })
})

describe('progressBar', () => {
  it('is always exactly `width` cells', () => {
    for (const f of [0, 0.01, 0.33, 0.5, 0.99, 1, 2, -1, Number.NaN]) {
      const {filled, empty} = progressBar(f, 10)
      expect([...(filled + empty)]).toHaveLength(10)
    }
  })

  it('fills in eighths of a cell', () => {
    expect(progressBar(0.5, 4)).toEqual({filled: '██', empty: '░░'})
    expect(progressBar(1 / 4, 2)).toEqual({filled: '▌', empty: '░'})
    expect(progressBar(1 / 16, 2)).toEqual({filled: '▏', empty: '░'})
    expect(progressBar(1, 3)).toEqual({filled: '███', empty: ''})
    expect(progressBar(0, 3)).toEqual({filled: '', empty: '░░░'})
  })
})
