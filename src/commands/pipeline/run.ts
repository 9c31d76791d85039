import {withInterrupt} from '../../cli/interrupt.js'
import {Args, Flags} from '@oclif/core'
import {metricsFlags, startLiveMetrics} from '../../cli/live-metrics.js'
import {BaseCommand, EXIT_CODES_HELP} from '../../cli/base-command.js'
import {parseDurationFlag} from '../../cli/flag-parsers.js'
import {EXIT_CODES, IotdError} from '../../errors.js'
import type {PipelineExplanation, PipelineSummary} from '../../pipeline/index.js'

export default class PipelineRun extends BaseCommand {
  static override summary = 'Run a pipeline file: sources -> SQL rules and windows -> sinks, in this process.'

  static override description = `Reads the pipeline file (version 1: sources, tables, rules with their sinks, dead letter), then runs until every source has ended (files, stdin, simulations: every open window is flushed), until --duration, or until Ctrl-C (sources stop, open windows are flushed unless shutdown.openWindows is drop, sinks drain within shutdown.timeout, then the partial summary prints).

Rows go where each rule's sinks say (stdout sinks write to stdout). The summary goes to stderr at the end, so it never mixes with rows; --json prints it to stdout instead. A progress line goes to stderr once a second unless --quiet. Live input (MQTT, Modbus, …) is written to an input log and acknowledged once it is there; windows, stateful-function state, watermarks and file positions are checkpointed every state.interval and at shutdown, so a restart (also after kill -9) resumes from the last checkpoint plus the log (see \`iotd pipeline state show\`). With --no-state, messages are acknowledged only after every sink has accepted every row made from them.

A run that took no record did nothing it was asked and exits 1 with the reason, as bench and sim do: every source ended without one (an empty file, empty stdin: "nothing to process"), or --duration ended a run whose live sources received none ("nothing received in 10s"). Ctrl-C exits 130 as always.

EXIT CODES
${EXIT_CODES_HELP}`

  static override examples = [
    {description: 'Alert on hot devices from a simulated plant, no broker needed', command: '<%= config.bin %> <%= command.id %> scenarios/pipelines/overheat-alerts.yaml'},
    {description: 'Override a key of the file and stop after a minute', command: '<%= config.bin %> <%= command.id %> flow.yaml --set sources.plant.duration=1h --duration 1m'},
    {description: 'Check the file and the sink connections, print the plan, read nothing', command: '<%= config.bin %> <%= command.id %> flow.yaml --dry-run'},
    {description: 'Start afresh after changing a rule (the saved windows are discarded)', command: '<%= config.bin %> <%= command.id %> flow.yaml --reset-state'},
    {description: 'Keep the state in a directory of your choice', command: '<%= config.bin %> <%= command.id %> flow.yaml --state-dir /var/lib/iotd/flow'},
    {description: 'Serve live Prometheus metrics (one replica of several: each its own port and state)', command: '<%= config.bin %> <%= command.id %> flow.yaml --metrics 0.0.0.0:9464 --state-dir /var/lib/iotd/replica-1'},
  ]

  static override args = {
    file: Args.string({description: 'Pipeline file (YAML, version 1).', required: true}),
  }

  static override flags = {
    set: Flags.string({summary: 'Override a key of the file: path=value (e.g. rules[0].lateTolerance=5s); repeatable.', multiple: true, env: 'IOTD_SET'}),
    duration: Flags.string({char: 'd', summary: 'Stop after this long (e.g. 30s, 5m); open windows are flushed.', env: 'IOTD_DURATION'}),
    'dead-letter': Flags.string({summary: 'Dead-letter JSON-lines file; overrides deadLetter: of the file.', env: 'IOTD_DEAD_LETTER'}),
    'open-windows': Flags.string({summary: 'On Ctrl-C/--duration: flush or drop open windows; overrides shutdown.openWindows.', options: ['flush', 'drop'], env: 'IOTD_OPEN_WINDOWS'}),
    'dry-run': Flags.boolean({summary: 'Validate, open and close every sink, print the plan; read no input.', env: 'IOTD_DRY_RUN'}),
    quiet: Flags.boolean({char: 'q', summary: 'No progress lines on stderr.', env: 'IOTD_QUIET'}),
    'state-dir': Flags.string({summary: 'Keep checkpoints and the input log in this directory (default: state.path of the file, else one per pipeline name).', env: 'IOTD_PIPELINE_STATE_DIR'}),
    'reset-state': Flags.boolean({summary: 'Discard the saved state first (windows start empty, the unreplayed input log is dropped).', env: 'IOTD_RESET_STATE'}),
    'no-state': Flags.boolean({summary: 'No checkpoints and no input log: acks wait for the sinks, a restart starts with empty windows.', env: 'IOTD_NO_STATE'}),
    ...metricsFlags,
  }

  async run(): Promise<PipelineSummary | PipelineExplanation | undefined> {
    const {args, flags} = await this.parse(PipelineRun)
    const durationMs = parseDurationFlag('duration', flags.duration)
    const {didNothing, loadPipeline, explainPipeline, formatExplanation, formatProgressLine, formatSummary, runPipeline} = await import('../../pipeline/index.js')
    const {runStateOptions} = await import('../../pipeline/state/index.js')
    const pipeline = loadPipeline(args.file, {set: flags.set})
    // eKuiper differences are for people porting rules: `pipeline lint` shows them, a run does not repeat them.
    for (const w of pipeline.warnings) if (!w.message.includes('eKuiper difference:')) this.note(`warning: ${w.file}:${w.line}:${w.col}: ${w.message}`)

    if (flags['dry-run']) {
      const plan = explainPipeline(pipeline)
      const env = {baseDir: pipeline.baseDir, env: process.env}
      const ctx = {signal: new AbortController().signal, deadLetter: () => {}, warn: (m: string) => this.note(m)}
      for (const rule of pipeline.rules) {
        for (const s of rule.sinks) {
          const sink = s.spec.create(s.options, s.name, env)
          try {
            await sink.open(ctx)
          } catch (error) {
            throw new IotdError(`sink ${s.name} (${s.spec.type}): ${(error as Error).message}`, EXIT_CODES.runtime)
          } finally {
            await sink.close().catch(() => undefined)
          }
        }
      }
      if (!this.jsonEnabled()) process.stdout.write(`${formatExplanation(plan)}\nsinks: all ${pipeline.rules.reduce((a, r) => a + r.sinks.length, 0)} opened and closed; no input read (--dry-run)\n`)
      return plan
    }

    const progress = !flags.quiet && !this.jsonEnabled()
    const endpoint = await startLiveMetrics(flags, (m) => this.note(m))
    const {prometheusText} = await import('../../pipeline/metrics-text.js')
    const showMetrics = (s: PipelineSummary) => endpoint?.show(() => prometheusText(s))
    let summary: PipelineSummary
    let current: (() => PipelineSummary) | undefined
    /** The counters of the last progress line: its rate is that interval's. */
    let previous: PipelineSummary | undefined
    try {
      summary = await withInterrupt(
        (signal) =>
          runPipeline({
            pipeline,
            durationMs,
            signal,
            deadLetterFile: flags['dead-letter'],
            state: runStateOptions(pipeline, {stateDir: flags['state-dir'], disabled: flags['no-state'], reset: flags['reset-state']}),
            openWindows: flags['open-windows'] as 'flush' | 'drop' | undefined,
            warn: (m) => this.note(m),
            onSummary: (f) => (current = f),
            onProgress:
              progress || endpoint
                ? (s) => {
                    showMetrics(s)
                    if (progress) this.note(formatProgressLine(s, previous))
                    previous = s
                  }
                : undefined,
          }),
        {
          onInterrupt: () => this.note('stopping: sources closed, flushing windows and draining sinks within shutdown.timeout (Ctrl-C again exits at once)'),
          onSecondInterrupt: () => {
            // Exit now: what is acknowledged is in the input log (or was never acknowledged), so nothing is lost.
            const partial = current?.()
            if (partial) {
              partial.stoppedBy = 'interrupt'
              partial.interrupted = true
              if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(partial, null, 2)}\n`)
              else process.stderr.write(formatSummary(partial))
            }
            this.note('second interrupt: exited without draining; queued rows were not written and not acknowledged (their input is redelivered or replayed from the input log)')
            process.exit(EXIT_CODES.interrupted)
          },
        },
      )
      showMetrics(summary)
    } catch (error) {
      await endpoint?.close()
      throw error
    }
    if (this.jsonEnabled()) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`)
    else process.stderr.write(formatSummary(summary))
    await endpoint?.finish()
    // A run whose every source ended without a record did nothing it was asked: never exit 0.
    const nothing = didNothing(summary)
    return this.finishRun({...summary, failure: nothing ? new IotdError(nothing.reason, EXIT_CODES.runtime, [nothing.hint]) : undefined})
  }
}
