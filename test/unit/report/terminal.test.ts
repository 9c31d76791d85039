import {describe, expect, it} from 'vitest'
import {chooseOutputMode, colorEnabledFor, isCi} from '../../../src/report/terminal.js'

const tty = {isTTY: true}
const pipe = {isTTY: false}
const env = {TERM: 'xterm-256color'}

describe('chooseOutputMode', () => {
  it('is interactive on a terminal outside CI', () => {
    expect(chooseOutputMode({json: false, stdout: tty, env})).toBe('interactive')
  })

  it('is plain when stdout is not a terminal', () => {
    expect(chooseOutputMode({json: false, stdout: pipe, env})).toBe('plain')
    expect(chooseOutputMode({json: false, stdout: {}, env})).toBe('plain')
  })

  it('is plain in CI, unless CI is 0 or false', () => {
    expect(chooseOutputMode({json: false, stdout: tty, env: {...env, CI: 'true'}})).toBe('plain')
    expect(chooseOutputMode({json: false, stdout: tty, env: {...env, CI: '1'}})).toBe('plain')
    expect(chooseOutputMode({json: false, stdout: tty, env: {...env, CONTINUOUS_INTEGRATION: 'yes'}})).toBe('plain')
    expect(chooseOutputMode({json: false, stdout: tty, env: {...env, CI: 'false'}})).toBe('interactive')
    expect(chooseOutputMode({json: false, stdout: tty, env: {...env, CI: '0'}})).toBe('interactive')
  })

  it('is plain on a dumb terminal', () => {
    expect(chooseOutputMode({json: false, stdout: tty, env: {TERM: 'dumb'}})).toBe('plain')
  })

  it('is json with --json, whatever the terminal, and json wins over quiet', () => {
    expect(chooseOutputMode({json: true, stdout: tty, env})).toBe('json')
    expect(chooseOutputMode({json: true, quiet: true, stdout: pipe, env})).toBe('json')
  })

  it('is quiet with --quiet, even on a terminal', () => {
    expect(chooseOutputMode({json: false, quiet: true, stdout: tty, env})).toBe('quiet')
  })
})

describe('isCi', () => {
  it('follows the same rule as Ink', () => {
    expect(isCi({})).toBe(false)
    expect(isCi({CI: ''})).toBe(true)
    expect(isCi({CI: 'false'})).toBe(false)
  })
})

describe('colorEnabledFor', () => {
  it('colours a terminal by default and never when disabled', () => {
    expect(colorEnabledFor(tty, true, env)).toBe(true)
    expect(colorEnabledFor(tty, false, env)).toBe(false)
    expect(colorEnabledFor(tty, false, {FORCE_COLOR: '1'})).toBe(false)
  })

  it('does not colour pipes or dumb terminals unless FORCE_COLOR asks for it', () => {
    expect(colorEnabledFor(pipe, true, env)).toBe(false)
    expect(colorEnabledFor(tty, true, {TERM: 'dumb'})).toBe(false)
    expect(colorEnabledFor(pipe, true, {FORCE_COLOR: '1'})).toBe(true)
  })

  it('honours FORCE_COLOR=0 (what bin/run.js sets for NO_COLOR and --no-color) and NO_COLOR itself', () => {
    expect(colorEnabledFor(tty, true, {...env, FORCE_COLOR: '0'})).toBe(false)
    expect(colorEnabledFor(tty, true, {...env, NO_COLOR: '1'})).toBe(false)
  })
})
