// A behaviour module for `behavior: ./behaviors/pump.js` (see docs/scenario-reference.md, "Behaviour modules").
// It is ordinary JavaScript that iotd loads into its fleet workers: it runs with the same rights as iotd itself.
//
// A pump that is told its speed, ramps towards it by at most 100 rpm per message, trips when told a speed above
// 3000 rpm, and says each change on its own topic.
export default {
  subscribe: ['{deviceId}/cmd/speed'],

  onMessage(device, message) {
    const wanted = message.json && message.json.rpm
    if (typeof wanted !== 'number') throw new Error(`${device.id}: speed command without a numeric rpm`)
    if (wanted > 3000) {
      device.setMode('tripped')
      device.publish(`${device.id}/events`, {event: 'trip', asked: wanted}, {qos: 1})
      return
    }
    device.state.target = wanted
    device.publish(`${device.id}/events`, {event: 'speed', target: wanted}, {qos: 1})
  },

  onTick(device) {
    const target = device.state.target
    if (typeof target !== 'number') return
    const now = device.get('rpm')
    const step = Math.max(-100, Math.min(100, target - now))
    if (step !== 0) device.set('rpm', now + step)
  },
}
