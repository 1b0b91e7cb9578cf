export { compilePolicy, PolicyEngine, type CompiledRule } from './policy.engine.js';
export { denialMessage } from './denial.js';
export { isLocalCaller } from './local-caller.js';
export { checkPolicySemantics } from './policy.check.js';
export { contextFromGiven, runPolicyTestCase, type PolicyTestResult } from './policy-test.runner.js';
export { describeWindow, inWindow, localTime, type LocalTime } from './time-window.js';
export { compileGlob, type Glob } from './glob.js';
export type {
  ApprovalRequirement,
  Decision,
  DecisionContext,
  Effect,
  Explanation,
  ListKind,
  Obligations,
  PiiObligation,
  QuotaRequirement,
  RateLimitObligation,
  RuleExplanation,
  RuleMatch,
  WouldDeny,
} from './policy.types.js';
