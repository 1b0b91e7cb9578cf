// Runs table-driven policy test cases (loaded by @atom-gov/config's loadPolicyTestFile) against an engine.
import type { PolicyTestCase } from '@atom-gov/config';
import { denialMessage } from './denial.js';
import type { PolicyEngine } from './policy.engine.js';
import type { Decision, DecisionContext } from './policy.types.js';

export interface PolicyTestResult {
  name: string;
  line: number;
  passed: boolean;
  /** What differed, one line each; empty when passed. */
  failures: string[];
  decision?: Decision;
}

/** Defaults for a `given:` block: the anonymous local caller, `tools/call`, now. */
export function contextFromGiven(given: PolicyTestCase['given'], now: Date = new Date()): DecisionContext {
  const at = given.at !== undefined ? new Date(given.at) : now;
  if (Number.isNaN(at.getTime()))
    throw new Error(`given.at '${given.at}' is not a time: write an ISO time such as 2026-03-30T09:30:00+02:00`);
  const roles = given.roles === undefined ? [] : Array.isArray(given.roles) ? given.roles : [given.roles];
  return {
    tenant: given.tenant ?? 'default',
    user: given.user ?? 'anonymous',
    roles,
    server: given.server,
    method: given.method ?? 'tools/call',
    ...(given.tool !== undefined ? { name: given.tool } : {}),
    ...(given.args !== undefined ? { args: given.args } : {}),
    ...(given.resource_uris !== undefined ? { resourceUris: given.resource_uris } : {}),
    transport: given.transport ?? 'stdio',
    local: given.local ?? true,
    time: at,
  };
}

export function runPolicyTestCase(engine: PolicyEngine, c: PolicyTestCase, now?: Date): PolicyTestResult {
  let decision: Decision;
  try {
    decision = engine.decide(contextFromGiven(c.given, now));
  } catch (error) {
    return { name: c.name, line: c.line, passed: false, failures: [(error as Error).message] };
  }
  const failures: string[] = [];
  const e = c.expect;
  if (decision.effect !== e.effect)
    failures.push(
      `expected effect ${e.effect}, got ${decision.effect}${decision.reason ? ` (${decision.reason})` : ''}`,
    );
  for (const r of e.rules ?? [])
    if (!decision.rules.includes(r))
      failures.push(`expected rule ${r} among the deciding rules, got [${decision.rules.join(', ')}]`);
  if (e.reason_contains !== undefined) {
    const text = `${decision.reason ?? ''} ${denialMessage(decision)}`;
    if (!text.includes(e.reason_contains))
      failures.push(`expected the reason to contain '${e.reason_contains}', got '${decision.reason ?? ''}'`);
  }
  if (e.would_deny !== undefined && e.would_deny !== decision.wouldDeny.length > 0)
    failures.push(
      `expected ${e.would_deny ? 'a' : 'no'} shadow-mode would-deny, got ${decision.wouldDeny.length > 0 ? decision.wouldDeny.map((w) => w.rule).join(', ') : 'none'}`,
    );
  return { name: c.name, line: c.line, passed: failures.length === 0, failures, decision };
}
