import {existsSync, readdirSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base-command.js'
import {ConfigError, EXIT_CODES, UsageError} from '../../errors.js'
import type {PipelineTest as PipelineTestCase, TestResult} from '../../pipeline/index.js'

interface TestRunResult {
  schemaVersion: 1
  passed: number
  failed: number
  results: TestResult[]
}

export default class PipelineTest extends BaseCommand {
  static override summary = 'Run the config unit tests of pipeline files: input events in, expected rows out.'

  static override description = `For each pipeline file (or each *.yaml pipeline in a directory) runs the tests inline under tests: and in the <name>.test.yaml file next to it. Each test feeds its input events, in order, into a source of the pipeline; the real rules, windows, map and dead letter run; the rule's sinks are replaced by an in-memory one, and its rows (and optional metrics: lateDropped, windowsFired, filtered, deadLettered) are compared with expect. Ends with an "N passed, N failed" line.

EXIT CODES
  0   every test passed
  1   a test failed
  2   a pipeline or test file is invalid, or there are no tests`

  static override examples = [
    {description: 'Run the tests of one pipeline', command: '<%= config.bin %> <%= command.id %> scenarios/pipelines/silent-meters.yaml'},
    {description: 'Run every pipeline test in a directory', command: '<%= config.bin %> <%= command.id %> scenarios/pipelines'},
  ]

  static override args = {
    path: Args.string({description: 'Pipeline file or directory.', required: true}),
  }

  async run(): Promise<TestRunResult> {
    const {args} = await this.parse(PipelineTest)
    const {companionTestFile, loadPipeline, loadTestFile, runPipelineTest} = await import('../../pipeline/index.js')
    if (!existsSync(args.path)) throw new UsageError(`${args.path}: no such file or directory`)
    const files = statSync(args.path).isDirectory()
      ? readdirSync(args.path)
          .filter((f) => /\.ya?ml$/i.test(f) && !/\.test\.ya?ml$/i.test(f))
          .sort()
          .map((f) => join(args.path, f))
      : [args.path]
    const results: TestResult[] = []
    const problems: ConfigError[] = []
    for (const file of files) {
      let pipeline
      try {
        pipeline = loadPipeline(file)
      } catch (error) {
        if (error instanceof ConfigError) {
          problems.push(error)
          continue
        }
        throw error
      }
      const companion = companionTestFile(file)
      let companionTests: PipelineTestCase[] = []
      try {
        companionTests = companion ? loadTestFile(companion) : []
      } catch (error) {
        // A malformed test file is reported with its position; the other files still run.
        if (!(error instanceof ConfigError)) throw error
        problems.push(error)
      }
      const tests = [...pipeline.config.tests.map((t) => ({t, file})), ...companionTests.map((t) => ({t, file: companion as string}))]
      for (const {t, file: from} of tests) {
        const r = await runPipelineTest(pipeline, t, from)
        results.push(r)
        if (!this.jsonEnabled()) {
          process.stdout.write(`${r.ok ? 'ok  ' : 'FAIL'}  ${from}: ${r.name}\n`)
          for (const f of r.failures) process.stdout.write(`        ${f}\n`)
        }
      }
    }
    if (problems.length > 0) {
      // Print what did run first, so one bad file does not hide the others' results.
      if (results.length > 0 && !this.jsonEnabled()) {
        const passed = results.filter((r) => r.ok).length
        process.stdout.write(`${passed} passed, ${results.length - passed} failed (and ${problems.length} file${problems.length === 1 ? '' : 's'} could not be read)\n`)
      }
      throw new ConfigError(problems.flatMap((p) => p.problems))
    }
    if (results.length === 0) throw new UsageError(`no tests found in ${args.path} (add tests: to a pipeline, or a <name>.test.yaml next to it)`)
    const passed = results.filter((r) => r.ok).length
    const failed = results.length - passed
    const out: TestRunResult = {schemaVersion: 1, passed, failed, results}
    // oclif prints the returned result under --json; this.exit() skips that, so print it here on failure.
    if (this.jsonEnabled()) {
      if (failed > 0) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
    } else process.stdout.write(`${passed} passed, ${failed} failed\n`)
    if (failed > 0) this.exit(EXIT_CODES.runtime)
    return out
  }
}
