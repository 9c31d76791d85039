import {createRng, type Rng} from './prng.js'

/**
 * A vehicle moving along a route at a speed, for the `gps` generator. Positions are interpolated along
 * great-circle segment lengths (linear in lat/lon inside a segment, which is accurate for city-scale legs).
 */

export interface GpsReading {
  lat: number
  lon: number
  /** Degrees clockwise from north, 0..360. */
  heading: number
  /** km/h */
  speed: number
}

const EARTH_RADIUS_M = 6_371_000
const M_PER_DEG_LAT = 111_320
const rad = (d: number) => (d * Math.PI) / 180

export function haversineM(a: readonly [number, number], b: readonly [number, number]): number {
  const dLat = rad(b[0] - a[0])
  const dLon = rad(b[1] - a[1])
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a[0])) * Math.cos(rad(b[0])) * Math.sin(dLon / 2) ** 2
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(h)))
}

export function bearingDeg(a: readonly [number, number], b: readonly [number, number]): number {
  const y = Math.sin(rad(b[1] - a[1])) * Math.cos(rad(b[0]))
  const x = Math.cos(rad(a[0])) * Math.sin(rad(b[0])) - Math.sin(rad(a[0])) * Math.cos(rad(b[0])) * Math.cos(rad(b[1] - a[1]))
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360
}

export interface Route {
  points: ReadonlyArray<readonly [number, number]>
  /** Cumulative distance at the start of each segment, metres. */
  starts: number[]
  lengths: number[]
  total: number
  loop: boolean
}

export function buildRoute(route: ReadonlyArray<readonly [number, number]>, loop: boolean): Route {
  const points = [...route]
  const last = points[points.length - 1]
  if (loop && (last[0] !== points[0][0] || last[1] !== points[0][1])) points.push(points[0])
  const starts: number[] = []
  const lengths: number[] = []
  let total = 0
  for (let i = 0; i + 1 < points.length; i++) {
    starts.push(total)
    const len = haversineM(points[i], points[i + 1])
    lengths.push(len)
    total += len
  }
  return {points, starts, lengths, total, loop}
}

/** Where a vehicle is after travelling `distanceM` along the route (wrapping when it loops). */
export function positionAt(route: Route, distanceM: number): {lat: number; lon: number; heading: number; atEnd: boolean} {
  let d = distanceM
  let atEnd = false
  if (route.total === 0) return {lat: route.points[0][0], lon: route.points[0][1], heading: 0, atEnd: true}
  if (route.loop) d = ((d % route.total) + route.total) % route.total
  else if (d >= route.total) {
    d = route.total
    atEnd = true
  }
  let i = route.starts.length - 1
  while (i > 0 && route.starts[i] > d) i--
  // Skip zero-length legs (repeated points) so the heading is meaningful.
  while (i < route.lengths.length - 1 && route.lengths[i] === 0) i++
  const a = route.points[i]
  const b = route.points[i + 1]
  const f = route.lengths[i] === 0 ? 0 : Math.min(1, (d - route.starts[i]) / route.lengths[i])
  return {lat: a[0] + (b[0] - a[0]) * f, lon: a[1] + (b[1] - a[1]) * f, heading: bearingDeg(a, b), atEnd}
}

export interface GpsParams {
  route: Array<[number, number]>
  speedKmh: number
  loop: boolean
  jitterM: number
}

/** A stateful tracker: distance integrates speed × dt, so a byMode speed change (e.g. parked: 0) just works. */
export class GpsTracker {
  private distanceM: number
  private readonly route: Route
  private readonly jitterRng: Rng

  constructor(params: GpsParams, rng: Rng) {
    this.route = buildRoute(params.route, params.loop)
    // Devices start at different places along the route so a fleet does not drive in convoy.
    this.distanceM = rng.next() * this.route.total
    this.jitterRng = createRng([rng.uint32(), 'gps-jitter'])
  }

  next(params: GpsParams, dtS: number): GpsReading {
    this.distanceM += (params.speedKmh / 3.6) * dtS
    const p = positionAt(this.route, this.distanceM)
    let {lat, lon} = p
    const jitter = params.jitterM
    if (jitter > 0) {
      lat += (this.jitterRng.gaussian() * jitter) / M_PER_DEG_LAT
      lon += (this.jitterRng.gaussian() * jitter) / (M_PER_DEG_LAT * Math.max(0.01, Math.cos(rad(lat))))
    }
    return {
      lat: Number(lat.toFixed(6)),
      lon: Number(lon.toFixed(6)),
      heading: Number(p.heading.toFixed(1)),
      speed: p.atEnd ? 0 : Number(params.speedKmh.toFixed(1)),
    }
  }
}
