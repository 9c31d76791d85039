import {mkdtempSync, readFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {runCli} from '../helpers/cli.js'
import {describeMosquitto, startMosquitto} from '../helpers/mosquitto.js'

/**
 * A broker that goes away in the middle of `iotd bench`: the publishers reconnect with backoff, the sends that fall
 * due while they are down are dropped and counted, the run lasts its planned length, and its rates are against the
 * planned schedule. A broker that never comes back fails the run.
 */

interface ResultJson {
  meta: {startedAt: string; endedAt: string; warmupMs: number}
  counts: {planned: number; sent: number; dropped: number; droppedDown?: number; received: number | null; errors: number}
  rate: {targetPerSec: number; achievedPerSec: number}
  timeline: Array<{t: number; sentPerSec: number; receivedPerSec: number | null}>
}

const dir = mkdtempSync(join(tmpdir(), 'iotd-bench-loss-'))
const RUN = ['bench', '-q', '1', '-r', '1000/s', '-d', '6s', '--publishers', '4', '--no-broker-count', '--out', join(dir, 'restarted.json')]

describeMosquitto('iotd bench when the broker goes away', () => {
  it('killed 1 s in and restarted 1.5 s later: the publishers reconnect, the run lasts 6 s, the drops are counted, exit 0', async () => {
    const broker = await startMosquitto()
    let restarted: Promise<void> | undefined
    const t0 = Date.now()
    const r = await runCli([...RUN, '-b', broker.url], {
      timeoutMs: 60_000,
      onOutput: {
        match: /clients connected/,
        then: () => {
          restarted = new Promise((resolve) => setTimeout(() => {
            broker.kill('SIGKILL')
            setTimeout(() => void broker.restart().then(resolve), 1500)
          }, 1000))
        },
      },
    })
    await restarted
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'restarted.json'), 'utf8')) as ResultJson
    expect(Date.now() - t0).toBeGreaterThan(6000)
    expect(Date.parse(result.meta.endedAt) - Date.parse(result.meta.startedAt)).toBe(6000)
    expect(r.stderr).toMatch(/reconnecting to the broker/)
    expect(r.stderr).toMatch(/reconnected to the broker/)
    expect(r.stderr).toMatch(/sends were dropped: the broker connection was down/)
    expect(r.stderr).not.toMatch(/behind its schedule/)
    // The summary gives the drops their reason (nearly all of them: a loaded machine may also fall behind a little).
    const down = /⚠ ([\d,]+) sends dropped: the broker connection was down when they fell due/.exec(r.stdout)
    expect(down, r.stdout).not.toBeNull()
    const droppedDown = Number(down?.[1].replaceAll(',', ''))
    const k = result.counts
    expect(k.planned).toBe(6000)
    expect(k.sent + k.dropped).toBe(k.planned)
    expect(k.dropped).toBeGreaterThan(1000)
    expect(droppedDown).toBeLessThanOrEqual(k.dropped)
    expect(droppedDown).toBeGreaterThan(0.9 * k.dropped)
    // The saved result carries the split, so iotd report show words the drops as the run did.
    expect(k.droppedDown).toBe(droppedDown)
    const shown = await runCli(['report', 'show', join(dir, 'restarted.json')])
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout, shown.stdout).toContain(`⚠ ${down?.[1]} sends dropped: the broker connection was down when they fell due`)
    expect(k.errors).toBeGreaterThanOrEqual(4)
    // The rows add up to the totals, and sends resumed after the restart (the last second sent again).
    expect(result.timeline.reduce((n, p) => n + p.sentPerSec, 0)).toBe(k.sent)
    const lastSecond = result.timeline.find((p) => p.t === Date.parse(result.meta.startedAt) + 5000)
    expect(lastSecond?.sentPerSec).toBeGreaterThan(900)
    // The subscriber subscribed again: deliveries in the last second too.
    expect(lastSecond?.receivedPerSec).toBeGreaterThan(900)
    // Rates against the schedule: the target is 1,000/s and the achieved share is what was sent of it.
    expect(result.rate.targetPerSec).toBe(1000)
    expect(result.rate.achievedPerSec).toBeCloseTo(k.sent / 6, 6)
    expect(result.rate.achievedPerSec).toBeLessThan(850)
    await broker.stop()
  }, 90_000)

  it('killed and never restarted: the run still lasts 4 s, every send after the loss is dropped, exit 1 with the reason', async () => {
    const broker = await startMosquitto()
    const r = await runCli(['bench', '-q', '1', '-r', '1000/s', '-d', '4s', '--publishers', '4', '--no-broker-count', '--out', join(dir, 'gone.json'), '-b', broker.url], {
      timeoutMs: 60_000,
      onOutput: {match: /clients connected/, then: () => setTimeout(() => broker.kill('SIGKILL'), 1000)},
    })
    expect(r.code, r.stderr).toBe(1)
    expect(r.stderr).toMatch(/4 of 4 publishers could not reconnect to the broker before the run ended; [\d,]+ sends fell due while the connection was down and were dropped/)
    const result = JSON.parse(readFileSync(join(dir, 'gone.json'), 'utf8')) as ResultJson
    expect(Date.parse(result.meta.endedAt) - Date.parse(result.meta.startedAt)).toBe(4000)
    expect(result.counts.planned).toBe(4000)
    expect(result.counts.sent + result.counts.dropped).toBe(4000)
    expect(result.counts.dropped).toBeGreaterThan(2500)
    await broker.stop()
  }, 90_000)

  it('lost during the drain, after every send went out: nothing is claimed about reconnecting, exit 0', async () => {
    const broker = await startMosquitto()
    // Frozen 200 ms before the schedule ends, the broker holds the last deliveries (the sends still leave into the
    // socket), so the drain waits for them; killed 0.8 s into the drain, it closes every connection.
    let killed: Promise<void> | undefined
    const r = await runCli(['bench', '-r', '1000/s', '-d', '2s', '--publishers', '2', '--no-broker-count', '--out', join(dir, 'drain.json'), '-b', broker.url], {
      timeoutMs: 60_000,
      onOutput: {
        match: /clients connected/,
        then: () => {
          killed = new Promise((resolve) => {
            setTimeout(() => broker.kill('SIGSTOP'), 1850)
            setTimeout(() => {
              broker.kill('SIGKILL')
              resolve()
            }, 2850)
          })
        },
      },
    })
    await killed
    expect(r.stderr).toMatch(/lost the broker connection/)
    expect(r.stderr).not.toMatch(/could not reconnect/)
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(readFileSync(join(dir, 'drain.json'), 'utf8')) as ResultJson
    expect(result.counts.planned).toBe(2000)
    expect(result.counts.sent).toBe(2000)
    expect(result.counts.dropped).toBe(0)
    await broker.stop()
  }, 90_000)
})
