#!/usr/bin/env -S node --import tsx
// Runs src/ directly through tsx, for development. Same colour handling as bin/run.js.
if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') process.env.FORCE_COLOR = '0'
if (process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0'

import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
