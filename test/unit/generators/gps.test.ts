import {describe, expect, it} from 'vitest'
import {createFieldGenerator, createRng} from '../../../src/sim/generators/index.js'
import {bearingDeg, buildRoute, haversineM, positionAt} from '../../../src/sim/generators/gps.js'

describe('gps', () => {
  const square: Array<[number, number]> = [
    [52.5, 13.4],
    [52.51, 13.4],
    [52.51, 13.42],
    [52.5, 13.42],
  ]

  it('measures distances and bearings', () => {
    expect(haversineM([52.5, 13.4], [52.51, 13.4])).toBeCloseTo(1112, -1)
    expect(bearingDeg([52.5, 13.4], [52.51, 13.4])).toBeCloseTo(0, 3)
    expect(bearingDeg([52.51, 13.4], [52.51, 13.42])).toBeCloseTo(90, 0)
  })

  it('interpolates along a looping route', () => {
    const route = buildRoute(square, true)
    expect(route.points.length).toBe(5)
    const mid = positionAt(route, route.lengths[0] / 2)
    expect(mid.lat).toBeCloseTo(52.505, 6)
    expect(mid.lon).toBeCloseTo(13.4, 6)
    expect(positionAt(route, route.total + 10).lat).toBeCloseTo(positionAt(route, 10).lat, 9)
  })

  it('stays on the route with a sensible heading and the configured speed', () => {
    const gen = createFieldGenerator({kind: 'gps', route: square, speedKmh: 36}, {rng: createRng([1, 'gps']), renderConstant: (t) => t})
    let prev: {lat: number; lon: number} | undefined
    for (let n = 0; n < 600; n++) {
      const p = gen.next({n, tsMs: n * 1000, dtS: n ? 1 : 0, elapsedS: n, mode: 'default'}, () => 0) as {lat: number; lon: number; heading: number; speed: number}
      const onEdge = [52.5, 52.51].some((v) => Math.abs(p.lat - v) < 1e-6) || [13.4, 13.42].some((v) => Math.abs(p.lon - v) < 1e-6)
      expect(onEdge).toBe(true)
      expect([0, 90, 180, 270].some((h) => Math.abs(p.heading - h) < 1 || Math.abs(p.heading - h - 360) < 1)).toBe(true)
      expect(p.speed).toBe(36)
      // 36 km/h = 10 m per one-second message (corners cut a little).
      if (prev) expect(haversineM([prev.lat, prev.lon], [p.lat, p.lon])).toBeLessThanOrEqual(10.1)
      prev = p
    }
  })

  it('stops at the end of a non-looping route', () => {
    const gen = createFieldGenerator({kind: 'gps', route: square, speedKmh: 3600, loop: false}, {rng: createRng([1, 'gps']), renderConstant: (t) => t})
    const last = gen.next({n: 1, tsMs: 1e6, dtS: 1000, elapsedS: 1000, mode: 'default'}, () => 0) as {lat: number; lon: number; speed: number}
    expect(last).toMatchObject({lat: 52.5, lon: 13.42, speed: 0})
  })
})
