/**
 * The scenario text the generator tests build on: one fleet of `count` presses that publish to plant/{deviceId}
 * every second, seeded. `rest` is the remainder of the fleet (mode, fields, anomalies, …), indented as a fleet's
 * keys are; it is returned as text so a test can still edit it before loading.
 */
export const pressFleetYaml = (seed: number, count: number, rest: string): string => `
version: 1
seed: ${seed}
fleets:
  - name: press
    count: ${count}
    topic: "plant/{deviceId}"
    every: 1s
${rest}`
