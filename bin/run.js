#!/usr/bin/env node
// chalk (and so Ink) ignores NO_COLOR: map it, and --no-color, onto FORCE_COLOR before anything loads chalk.
// The import below is dynamic because static imports would run before these lines.
const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
if (noColor || process.argv.includes('--no-color')) {
  process.env.FORCE_COLOR = '0'
}

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
