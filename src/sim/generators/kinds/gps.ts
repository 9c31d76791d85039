import {z} from 'zod'
import {defineGenerator, modal} from '../generator-kind.js'
import {GpsTracker} from '../gps.js'
import {latitude, longitude, nonNegative} from '../param-types.js'

export const gpsGenerator = defineGenerator({
  kind: 'gps',
  doc: `A vehicle along \`route\` (\`[[lat, lon], ...]\`, at least 2 points) at \`speedKmh\`; \`loop\` (default true) drives back to the start, \`loop: false\` stops at the end (speed 0); \`jitterM\` adds GPS noise in metres. The value is an object \`{lat, lon, heading, speed}\`; expressions read \`position.speed\`; csv flattens it to four columns. Each device starts at a seeded place on the route.`,
  example: `position: {kind: gps, route: [[53.5511, 9.9937], [53.5753, 10.0153], [53.5866, 9.9785]], speedKmh: 35, jitterM: 5}`,
  params: {
    route: z.array(z.tuple([latitude, longitude])).min(2, 'a route needs at least two [lat, lon] points'),
    speedKmh: nonNegative('speedKmh'),
    loop: z.boolean().optional(),
    jitterM: nonNegative('jitterM').optional(),
  },
  defaults: {loop: true, jitterM: 0},
  modal: true,
  fixedInMode: {
    route: 'a vehicle keeps one route (byMode may change speedKmh and jitterM)',
    loop: 'a vehicle keeps one route (byMode may change speedKmh and jitterM)',
  },
  objectKeys: ['lat', 'lon', 'heading', 'speed'],
  create(spec, {rng}) {
    const params = modal(spec)
    const tracker = new GpsTracker(spec, rng)
    return {next: (ctx) => tracker.next(params(ctx.mode), ctx.dtS)}
  },
})
