#!/usr/bin/env node
// chalk (and so Ink) ignores NO_COLOR; map it, and --no-color, onto FORCE_COLOR before anything loads chalk.
if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') process.env.FORCE_COLOR = '0'
if (process.argv.includes('--no-color')) process.env.FORCE_COLOR = '0'

import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
