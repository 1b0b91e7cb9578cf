// Semantic warnings for `atom-gov policy check`: things that load fine but probably do not do what the author
// meant (unknown tenants, local_only servers with remote upstreams, shadowed or unreachable rules,
// contradictory allow/deny lists).
import type { AtomGovConfig, ConfigIssue, PolicyRule } from '@atom-gov/config';
import { isGlob } from './glob.js';
import { compilePolicy, type CompiledRule } from './policy.engine.js';

const warn = (rule: Pick<PolicyRule, 'source'>, message: string, hint?: string): ConfigIssue => ({
  file: rule.source.file,
  line: rule.source.line,
  column: rule.source.column,
  path: rule.source.path,
  message,
  ...(hint ? { hint } : {}),
  severity: 'warning',
});

const overlap = (a: ReadonlySet<string> | null, b: ReadonlySet<string> | null): boolean =>
  a === null || b === null || [...a].some((x) => b.has(x));
const covers = (outer: ReadonlySet<string> | null, inner: ReadonlySet<string> | null): boolean =>
  outer === null || (inner !== null && [...inner].every((x) => outer.has(x)));
const unqualified = (r: CompiledRule) => !r.tenants && !r.users && !r.roles && !r.time && !r.resources;

/** Every operation `inner` can match is matched by `outer` (exact names only: globs are not compared). */
function opsCovered(outer: CompiledRule, inner: CompiledRule): boolean {
  if (outer.ops === null) return true;
  if (inner.ops === null || inner.ops.all || inner.ops.globs.length > 0) return false;
  return [...inner.ops.exact].every((n) => outer.ops!.exact.has(n) || outer.ops!.globs.some((g) => g.test(n)));
}

export function checkPolicySemantics(config: AtomGovConfig, now: Date = new Date()): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const engine = compilePolicy(config);
  const rules = engine.rules;
  const today = now.toISOString().slice(0, 10);

  const knownTenants = new Set([
    config.gateway.anonymous.tenant,
    ...config.gateway.apiKeys.map((k) => k.tenant),
    ...Object.keys(config.tenants.quotas),
  ]);
  for (const r of rules) {
    for (const t of r.tenants ?? [])
      if (!knownTenants.has(t))
        issues.push(
          warn(
            r.rule,
            `rule ${r.name} names tenant '${t}', which no api key, the anonymous identity or tenants.quotas has`,
            `known tenants: ${[...knownTenants].join(', ')}`,
          ),
        );
    if (r.remoteUpstream)
      issues.push(
        warn(
          r.rule,
          `server ${r.rule.trigger.servers === '*' ? '' : r.rule.trigger.servers.join(', ')} is local_only but its url ${r.remoteUpstream} is remote: every call will be denied`,
          'point url at 127.0.0.1 or run the server as a local process',
        ),
      );
    const windows = [r.time, r.accessHours].filter((w) => w !== undefined);
    for (const w of windows) {
      if (w.startMinute === w.endMinute)
        issues.push(warn(r.rule, `rule ${r.name} has an empty time window (hours start and end at the same minute)`));
      if (w.dates && w.dates.every((d) => d.to < today))
        issues.push(
          warn(
            r.rule,
            `rule ${r.name} is unreachable: its dates ended on ${w.dates
              .map((d) => d.to)
              .sort()
              .at(-1)}`,
            'remove the rule or update its dates',
          ),
        );
    }
    if (r.rule.actions.length === 0 && !r.rule.audit.logLevel && r.rule.audit.notifications.length === 0)
      issues.push(warn(r.rule, `rule ${r.name} has no effect (no actions and no audit obligations)`));
  }

  // Shadowed: an earlier unconditional hard deny already denies every call the rule matches.
  rules.forEach((r, i) => {
    const shadow = rules
      .slice(0, i)
      .find(
        (d) => d.deny && d.enforcement === 'hard' && unqualified(d) && covers(d.servers, r.servers) && opsCovered(d, r),
      );
    if (shadow)
      issues.push(
        warn(
          r.rule,
          `rule ${r.name} is shadowed by ${shadow.name} (${shadow.source}): every call it matches is denied first`,
        ),
      );
  });

  // Same trigger, both asking for approval: only the first one's parameters are ever used.
  rules.forEach((r, i) => {
    if (!r.approval) return;
    const twin = rules
      .slice(0, i)
      .find((o) => o.approval && o.triggerText === r.triggerText && o.baseSpec === r.baseSpec);
    if (twin)
      issues.push(
        warn(
          r.rule,
          `rule ${r.name} asks for approval with the same trigger as ${twin.name}: only the stricter one (more approvals, else the first) applies`,
        ),
      );
  });

  // Contradictions: one tool on an allow-list and a deny-list (or a deny rule) for overlapping servers.
  const vis = rules.filter((r) => r.visibility);
  for (const a of vis) {
    const allowed = [...(a.visibility!.allow?.exact ?? [])];
    for (const b of rules) {
      if (!overlap(a.servers, b.servers)) continue;
      for (const tool of allowed) {
        const onDenyList = b.visibility?.deny.exact.has(tool);
        const denyRule = b.deny && b.ops?.exact.has(tool) && unqualified(b);
        if (onDenyList || denyRule)
          issues.push(
            warn(
              a.rule,
              `contradictory rules: ${a.name} allows '${tool}' but ${b.name} (${b.source}) ${onDenyList ? 'deny-lists' : 'denies'} it`,
              b === a
                ? 'the deny-list wins inside one rule; remove the tool from one list'
                : 'deny wins at equal specificity; remove one of them or narrow a trigger',
            ),
          );
      }
    }
    for (const p of a.rule.actions.flatMap((x) => (x.type === 'tool_visibility' ? (x.allow ?? []) : [])))
      if (!isGlob(p) && a.visibility!.deny.globs.some((g) => g.test(p)))
        issues.push(warn(a.rule, `rule ${a.name} allow-lists '${p}' but its own deny-list matches it`));
  }
  return issues;
}
