import type {FleetSample} from '../sim/dry-run.js'
import {formatDuration} from '../config/units.js'

/** The text of `iotd sim --dry-run`: per fleet, where it publishes and what its first device would send. */
export function formatDryRun(scenario: string, seed: number, fleets: FleetSample[]): string {
  const lines = [`${scenario}  seed ${seed}  (dry run: nothing was connected)`, '']
  for (const f of fleets) {
    lines.push(`fleet ${f.fleet}: ${f.devices} device${f.devices === 1 ? '' : 's'}, every ${formatDuration(f.everyMs)}, qos ${f.qos}${f.retain ? ', retained' : ''}`)
    lines.push(`  first device  ${f.deviceId} (client id ${f.clientId})`)
    lines.push(`  topic         ${f.topic}`)
    if (f.birth) lines.push(`  birth         ${f.birth.topic}  ${f.birth.payload}`)
    if (f.lwt) lines.push(`  will          ${f.lwt.topic}  ${f.lwt.payload}`)
    f.payloads.forEach((p, i) => lines.push(`  #${String(i).padEnd(4)}        ${p ?? '(suppressed by a dropout anomaly)'}`))
    lines.push('')
  }
  return `${lines.join('\n')}`
}
