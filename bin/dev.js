#!/usr/bin/env -S node --import tsx
// Runs src/ directly through tsx, for development. Same colour handling as bin/run.js.
// Commands run from src/, but oclif lists them (and renders --help) from oclif.manifest.json when it exists:
// after adding a command or changing flags, run `npm run build` to refresh it.
const noColor = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== ''
if (noColor || process.argv.includes('--no-color')) {
  process.env.FORCE_COLOR = '0'
}

const {execute} = await import('@oclif/core')
await execute({development: true, dir: import.meta.url})
