/**
 * What a replay serves to Prometheus at its end adds up as its summary does: rows = published + skipped + not sent,
 * and a broker outage shows as its losses and the messages written again.
 */
import {describe, expect, it} from 'vitest'
import {replayFamilies} from '../../../src/tools/prometheus.js'
import type {ReplaySummary} from '../../../src/tools/replay.js'

const summary = {rows: 100, published: 90, skipped: 4, outOfOrder: 1, notSent: 6, connection: {losses: 2, outageMs: 2100, retried: 7}} as unknown as ReplaySummary

describe('replay metrics', () => {
  it('serve the not-sent rows and the connection figures beside the published and skipped ones', () => {
    const text = replayFamilies(summary)
    const value = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1])
    expect(value('iotd_replay_rows_total')).toBe(value('iotd_replay_messages_published_total') + value('iotd_replay_rows_skipped_total') + value('iotd_replay_rows_not_sent_total'))
    expect(value('iotd_replay_connection_losses_total')).toBe(2)
    expect(value('iotd_replay_messages_retried_total')).toBe(7)
  })
})
