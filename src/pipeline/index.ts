/**
 * `iotd pipeline`: connect -> rule -> window -> sink in one process. The commands call these; nothing here imports
 * oclif. See docs/pipeline-reference.md.
 */
export {loadPipeline, type LoadedPipeline, type LoadedRule, type LoadedSink, type LoadedSource, type LoadPipelineOptions} from './config/load.js'
export {pipelineSchema, type PipelineFile, type PipelineTest, type RuleConfig} from './config/schema.js'
export {pipelineJsonSchema, pipelineJsonSchemaText} from './config/json-schema.js'
export {runPipeline, type PipelineSummary, type RunPipelineOptions, type SourceInstance} from './runtime/run-pipeline.js'
export {explainPipeline, formatExplanation, type PipelineExplanation} from './explain.js'
export {companionTestFile, loadTestFile, runPipelineTest, type TestResult} from './test-runner.js'
export {didNothing, formatProgressLine, formatSummary, nothingReceived, type NothingDone} from './summary-text.js'
export {SINK_SPECS, SOURCE_SPECS, sinkSpec, sourceSpec} from './registry.js'
export * from './types.js'
