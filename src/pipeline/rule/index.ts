/**
 * The rule language of `iotd pipeline`: eKuiper-dialect SQL -> AST (parseRule) -> plan (planRule) -> closures
 * (compileExpression / compileRule). See docs/pipeline-reference.md for the dialect.
 */
export type * from './ast.js'
export type * from './plan-types.js'
export {META_KEYS} from './plan-types.js'
export {RuleSyntaxError, RulePlanError, formatCaret, type RulePosition, type RuleProblem} from './errors.js'
export {parseRule, parseExpression} from './parse.js'
export {planRule, isValidTopicFilter, formatPath, forEachChild, type PlanOptions} from './plan.js'
export {
  compileExpression,
  compilePredicate,
  likeToRegExp,
  RuleState,
  type CompileEnv,
  type Evaluator,
  type Predicate,
} from './compile.js'
export {compileRule, type CompiledAggregate, type CompiledRule} from './compile-rule.js'
export {rowContext, type RowContext, type RecordMetaView} from './row-context.js'
export * from './functions/index.js'
