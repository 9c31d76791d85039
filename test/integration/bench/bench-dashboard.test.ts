import {afterAll, beforeAll, expect, it} from 'vitest'
import {ROOT, RUN} from '../../helpers/cli.js'
import {describeMosquitto, startMosquitto, type Mosquitto} from '../../helpers/mosquitto.js'
import {startTmux, tmuxAvailable, type TmuxSession} from '../../helpers/tmux.js'

/*
 * The `iotd bench` dashboard in a real terminal: the built CLI runs a real benchmark against a private mosquitto
 * inside a detached tmux session (a private server socket), and the pane is read back as a person would see it.
 * CI installs tmux (.ci/run); under CI=true a missing tmux fails the test rather than skipping it.
 */

describeMosquitto('iotd bench dashboard in a 120x40 tmux terminal', () => {
  let broker: Mosquitto
  let term: TmuxSession | undefined
  beforeAll(async () => {
    if (!tmuxAvailable) {
      if (process.env.CI === 'true') throw new Error('tmux is not installed, and CI=true: install it (apt-get install tmux)')
      return
    }
    broker = await startMosquitto()
  })
  afterAll(() => term?.kill())

  it.skipIf(!tmuxAvailable && process.env.CI !== 'true')('shows rates, the latency spectrum and the percentile plot live, then the summary', async () => {
    const bench = `env -u CI -u CONTINUOUS_INTEGRATION node ${JSON.stringify(RUN)} bench -b ${broker.url} -r 5000/s -d 6s -q 1 --threshold 'p(99)<10s'`
    term = startTmux({name: 'bench', columns: 120, rows: 40, cwd: ROOT, command: `${bench}; echo "[exited $?]"; exec sleep 60`})

    const live = await term.waitForScreen((s) => /^so far +p50 \d/m.test(s) && s.includes('Ctrl-C to stop'))
    const lines = live.split('\n')
    const at = (re: RegExp) => lines.find((l) => re.test(l)) ?? ''
    expect(at(/^iotd bench/)).toMatch(/^iotd bench {2}e2e {2}→ mqtt:\/\/127\.0\.0\.1:\d+ {2}(running|warm-up)/)
    expect(at(/^msg\/s +target/)).toMatch(/^msg\/s +target 5,000 {2}sent [\d,]+ {2}received [\d,]+/)
    expect(at(/^clients/)).toMatch(/^clients +11\/11 connected/)
    expect(at(/^so far/)).toMatch(/p50 \S+ +p90 \S+ +p99 \S+ +p99\.9 \S+ +max \S+/)
    // The percentile plot: its axis and at least one bar.
    expect(at(/ 0% .*90%.*99%/)).not.toBe('')
    expect(lines.some((l) => /[▁▂▃▄▅▆▇█]{5,}/.test(l))).toBe(true)
    expect(at(/^client +cpu/)).toMatch(/cpu \d+%/)
    // Drawn once, not stacked frame after frame.
    expect(lines.filter((l) => l.startsWith('iotd bench  e2e'))).toHaveLength(1)

    const done = await term.waitForScreen((s) => s.includes('[exited '), 40_000)
    expect(done).toMatch(/^\[exited 0\]$/m)
    expect(done).toContain('✓ p(99)<10s')
    expect(done).toMatch(/30,000 of 30,000 planned messages sent/)
    expect(done).not.toContain('Ctrl-C to stop')
  }, 60_000)
})
