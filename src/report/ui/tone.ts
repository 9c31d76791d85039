import type {CellTone} from './live-fleet-table.js'

/** Ink colour names for tones; undefined when colour is off, so <Text> draws plain characters. */
const TONE_COLOURS: Record<Exclude<CellTone, 'plain'>, string> = {
  good: 'green',
  warn: 'yellow',
  fail: 'red',
  bar: 'cyan',
}

export function toneColour(tone: CellTone, color: boolean): string | undefined {
  return color && tone !== 'plain' ? TONE_COLOURS[tone] : undefined
}
