/**
 * The layers of iotd, checked by `npm run lint` (docs/architecture.md draws the same picture).
 *
 *   commands/                        thin oclif commands
 *   cli/                             oclif plumbing (base command, flag parsers)
 *   report/                          renders results it is given: summaries, live views, HTML, bench result files
 *   tools/                           tail, record, replay, modbus read/write/scan
 *   pipeline/ > sim/, bench/         the products
 *   metrics/ workers/ capture/ config/ net/ pacing/ modbus/ sparkplug/ errors.ts    the floor every product stands on
 */
const FLOOR = '^src/(metrics|workers|capture|config|net|pacing|modbus|sparkplug)/|^src/errors\\.ts$'
const PRODUCTS = '^src/(sim|bench|pipeline|tools)/'

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-file-cycle',
      comment: 'Two files that import each other (directly or around a circle) cannot be understood or moved one at a time.',
      severity: 'error',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'no-folder-cycle',
      comment: 'Folders form layers: when folder A imports B, nothing in B imports A, directly or around a circle.',
      severity: 'error',
      scope: 'folder',
      from: {path: '^src/'},
      to: {circular: true},
    },
    {
      name: 'core-without-cli',
      comment: 'The core is a library: only commands/ and cli/ know oclif and the command line.',
      severity: 'error',
      from: {path: '^src/', pathNot: '^src/(commands|cli)/'},
      to: {path: '^src/(commands|cli)/'},
    },
    {
      name: 'floor-imports-no-product',
      comment: 'metrics/, workers/, capture/, config/, net/, pacing/, modbus/ and sparkplug/ are what sim, bench, pipeline, the tools and report stand on.',
      severity: 'error',
      from: {path: FLOOR},
      to: {path: `${PRODUCTS}|^src/report/`},
    },
    {
      name: 'products-do-not-render',
      comment: 'sim, bench, pipeline and the tools hand results to a reporter; report/ stands above them.',
      severity: 'error',
      from: {path: '^src/(sim|bench|pipeline)/'},
      to: {path: '^src/(report|tools)/'},
    },
    {
      name: 'report-renders-what-it-is-given',
      comment:
        'report/ takes the products\' result types and the bench result model (bench/bench-result.ts, the versioned file it reads, merges and compares), never their run machinery or the workers.',
      severity: 'error',
      from: {path: '^src/report/'},
      to: {path: `${PRODUCTS}|^src/workers/`, pathNot: '^src/bench/bench-result\\.ts$', dependencyTypesNot: ['type-only']},
    },
  ],
  options: {
    doNotFollow: {path: 'node_modules'},
    includeOnly: '^src/',
    exclude: {path: '\\.generated\\.'},
    tsPreCompilationDeps: true,
    tsConfig: {fileName: 'tsconfig.json'},
    enhancedResolveOptions: {extensions: ['.ts', '.tsx', '.js'], exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default']},
  },
}
