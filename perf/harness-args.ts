/**
 * The one way a perf harness reads its command line: named options with their defaults (`--runs 3`,
 * `--duration 60s`, `--tree a --tree b`, `--verify`) and case names as positionals, checked against the cases the
 * harness knows. A mistake (an unknown option, a number that is not one, an unknown case) ends the process with one
 * line on stderr and exit code 2, before anything is measured: a long benchmark run with a value nobody asked for
 * costs more than the typo did.
 */
import {basename} from 'node:path'
import {parseArgs} from 'node:util'

/** Each option's default; its type is the option's type (a string array: the option may be given several times). */
export type OptionDefaults = Record<string, number | string | boolean | readonly string[]>

export type OptionValues<D extends OptionDefaults> = {
  [K in keyof D]: D[K] extends number ? number : D[K] extends boolean ? boolean : D[K] extends readonly string[] ? string[] : string
}

function usage(message: string): never {
  process.stderr.write(`${basename(process.argv[1] ?? 'harness')}: ${message}\n`)
  process.exit(2)
}

/** The options (each its default unless given) and the positionals, in the order given. */
export function harnessArgs<D extends OptionDefaults>(defaults: D, argv = process.argv.slice(2)): {options: OptionValues<D>; named: string[]} {
  const known = Object.keys(defaults)
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: Object.fromEntries(known.map((name) => [name, typeof defaults[name] === 'boolean' ? {type: 'boolean'} : {type: 'string', multiple: Array.isArray(defaults[name])}])),
    })
  } catch (error) {
    // node's own words up to its first full stop ("Unknown option '--rnus'"), then what there is to choose from
    const said = (error instanceof Error ? error.message : String(error)).split('. ')[0]
    usage(`${said}; options: ${known.map((name) => `--${name}`).join(', ') || 'none'}`)
  }
  const options: Record<string, unknown> = {}
  for (const name of known) {
    const fallback = defaults[name]
    const given = parsed.values[name]
    if (given === undefined) options[name] = Array.isArray(fallback) ? [...fallback] : fallback
    else if (typeof fallback === 'number') {
      const n = Number(given)
      if (typeof given !== 'string' || given.trim() === '' || !Number.isFinite(n)) usage(`--${name} takes a number, not ${JSON.stringify(given)}`)
      options[name] = n
    } else options[name] = given
  }
  return {options: options as OptionValues<D>, named: parsed.positionals}
}

/** For a harness without cases: its options, and a usage error for any positional. */
export function harnessOptions<D extends OptionDefaults>(defaults: D, argv = process.argv.slice(2)): OptionValues<D> {
  const {options, named} = harnessArgs(defaults, argv)
  if (named.length > 0) usage(`takes no case names (got ${named.join(', ')}); options: ${Object.keys(defaults).map((name) => `--${name}`).join(', ')}`)
  return options
}

/** The cases to run: those named, in the order named, or `byDefault` when none is; an unknown name is a usage error. */
export function pickCases(named: readonly string[], known: readonly string[], byDefault: readonly string[] = known): string[] {
  const unknown = named.filter((name) => !known.includes(name))
  if (unknown.length > 0) usage(`unknown case ${unknown.join(', ')}; cases: ${known.join(', ')}`)
  return named.length > 0 ? [...named] : [...byDefault]
}
