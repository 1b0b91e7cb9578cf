// `atom-gov audit show OPERATION [--tenant T] [--format text|json]`: one operation's whole story from the audit trail
// (request, decision and rules, approvals with who/when/how, execution, quota movements) and its Temporal UI link.
import type { AuditEvent } from '@atom-gov/audit';
import type { AtomGovConfig } from '@atom-gov/config';
import type { Command } from 'commander';
import { openAuditForConfig } from '../audit-access.js';
import { CliError } from '../run-cli.js';
import { type AuditOutput, loadAuditConfig, queryAudit } from './audit.command.js';

export interface AuditShowOptions {
  config?: string;
  dataDir?: string;
  tenant?: string;
  format?: string;
}

export interface QuotaMovement {
  reservation: string;
  counter: string | null;
  amount: number;
  status: string;
}

export interface OperationStory {
  operationId: string;
  tenant: string;
  user: string;
  server: string;
  target?: string;
  request?: AuditEvent;
  decision?: { decision: string; policy?: string; rules: string[]; configVersion: string; message?: string };
  approvals: Array<{ at: Date; who: string; vote: string; via?: string; reason?: string }>;
  escalations: Array<{ at: Date; text: string }>;
  execution?: {
    at: Date;
    outcome: string;
    durationMs: number;
    requestBytes: number;
    responseBytes: number;
    result?: string;
    error?: string;
  };
  quota: QuotaMovement[];
  quotaRefusals: Array<{ at: Date; text: string }>;
  notificationFailures: Array<{ at: Date; text: string }>;
  timeline: AuditEvent[];
  temporal: { workflowId: string; namespace: string; uiUrl?: string };
}

/** The workflow writes `intent` as `<event>: <detail>` (apps/worker recordAudit); the gateway writes plain calls. */
function eventKind(e: AuditEvent): { kind: string; detail: string } {
  const m = /^(requested|vote|decided|expired|escalated|quota_refused|notification_failed|outcome)(?::\s?(.*))?$/s.exec(
    e.intent ?? '',
  );
  return m ? { kind: m[1]!, detail: m[2] ?? '' } : { kind: 'call', detail: e.intent ?? '' };
}

/** Builds the story from the operation's events (oldest first) and its quota reservations. */
export function buildStory(
  operationId: string,
  events: readonly AuditEvent[],
  quota: readonly QuotaMovement[],
  config: Pick<AtomGovConfig, 'temporal'>,
): OperationStory {
  const first = events[0]!;
  const story: OperationStory = {
    operationId,
    tenant: first.tenant,
    user: first.user,
    server: first.server,
    ...(first.target !== undefined ? { target: first.target } : {}),
    approvals: [],
    escalations: [],
    quota: [...quota],
    quotaRefusals: [],
    notificationFailures: [],
    timeline: [...events],
    temporal: {
      workflowId: operationId,
      namespace: config.temporal.namespace,
      // The embedded dev server's UI is known; an external cluster's UI address is not in the config.
      ...(config.temporal.address === undefined
        ? {
            uiUrl:
              `http://127.0.0.1:${config.temporal.devServer.uiPort}/namespaces/` +
              `${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(operationId)}`,
          }
        : {}),
    },
  };
  for (const e of events) {
    const { kind, detail } = eventKind(e);
    switch (kind) {
      case 'requested':
        story.request ??= e;
        story.decision ??= decisionOf(e);
        break;
      case 'vote': {
        // "approve by alice@example.com via slack: looks fine"
        const v = /^(approve|reject) by (\S+) via (\S+?)(?::\s?(.*))?$/s.exec(detail);
        story.approvals.push({
          at: e.time,
          who: v?.[2] ?? e.user,
          vote: v?.[1] ?? detail,
          ...(v?.[3] ? { via: v[3] } : {}),
          ...(v?.[4] ? { reason: v[4] } : {}),
        });
        break;
      }
      case 'decided':
      case 'expired':
        story.decision = { ...decisionOf(e), message: detail };
        break;
      case 'escalated':
        story.escalations.push({ at: e.time, text: detail });
        break;
      case 'quota_refused':
        story.quotaRefusals.push({ at: e.time, text: detail });
        break;
      case 'notification_failed':
        story.notificationFailures.push({ at: e.time, text: e.errorMessage ?? detail });
        break;
      case 'outcome':
        story.execution = executionOf(e);
        break;
      default:
        // The gateway's own record of the call: the request if nothing else is, and its outcome.
        story.request ??= e;
        story.decision ??= decisionOf(e);
        if (e.decision !== 'governed' || !story.execution) story.execution ??= executionOf(e);
    }
  }
  return story;
}

function decisionOf(e: AuditEvent): NonNullable<OperationStory['decision']> {
  return {
    decision: e.decision,
    ...(e.policy !== undefined ? { policy: e.policy } : {}),
    rules: e.rules ?? [],
    configVersion: e.configVersion,
  };
}

function executionOf(e: AuditEvent): NonNullable<OperationStory['execution']> {
  return {
    at: e.time,
    outcome: e.outcome,
    durationMs: e.durationMs,
    requestBytes: e.requestBytes,
    responseBytes: e.responseBytes,
    ...(e.resultSummary !== undefined ? { result: e.resultSummary } : {}),
    ...(e.errorMessage !== undefined ? { error: e.errorMessage } : {}),
  };
}

const iso = (d: Date) =>
  d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

export function formatStory(s: OperationStory): string {
  const lines: string[] = [];
  const add = (text = '') => lines.push(text);
  add(`Operation ${s.operationId}`);
  add(`  tenant ${s.tenant} · user ${s.user} · server ${s.server}${s.target ? ` · ${s.target}` : ''}`);
  add();
  add('Request');
  if (s.request) {
    add(`  at        ${iso(s.request.time)}`);
    add(`  call      ${s.request.method} ${s.request.target ?? ''}`.trimEnd());
    if (s.request.sessionId) add(`  session   ${s.request.sessionId}`);
    if (s.request.argsSummary) add(`  arguments ${s.request.argsSummary}`);
  } else add('  (no request record)');
  add();
  add('Decision');
  if (s.decision) {
    add(`  ${s.decision.decision}${s.decision.policy ? ` by policy ${s.decision.policy}` : ''}`);
    if (s.decision.rules.length > 0) add(`  rules     ${s.decision.rules.join(', ')}`);
    if (s.decision.message) add(`  why       ${s.decision.message}`);
    add(`  config    ${s.decision.configVersion}`);
  }
  add();
  add('Approvals');
  if (s.approvals.length === 0 && s.escalations.length === 0) add('  none recorded');
  for (const a of s.approvals) {
    add(`  ${iso(a.at)}  ${a.vote} by ${a.who}${a.via ? ` via ${a.via}` : ''}${a.reason ? `: ${a.reason}` : ''}`);
  }
  for (const e of s.escalations) add(`  ${iso(e.at)}  escalated: ${e.text}`);
  add();
  add('Execution');
  if (s.execution) {
    const x = s.execution;
    add(
      `  ${iso(x.at)}  ${x.outcome} in ${x.durationMs} ms (request ${x.requestBytes} B, response ${x.responseBytes} B)`,
    );
    if (x.result) add(`  result    ${x.result}`);
    if (x.error) add(`  error     ${x.error}`);
  } else add('  not executed (or not finished yet)');
  add();
  add('Quota');
  if (s.quota.length === 0 && s.quotaRefusals.length === 0) add('  no reservations');
  for (const q of s.quota)
    add(`  ${q.status.padEnd(9)} ${q.amount} on ${q.counter ?? '(never reserved)'}  [${q.reservation}]`);
  for (const r of s.quotaRefusals) add(`  ${iso(r.at)}  refused: ${r.text}`);
  if (s.notificationFailures.length > 0) {
    add();
    add('Notifications that failed');
    for (const n of s.notificationFailures) add(`  ${iso(n.at)}  ${n.text}`);
  }
  add();
  add('Timeline');
  for (const e of s.timeline) {
    const { kind } = eventKind(e);
    add(`  ${iso(e.time)}  ${kind.padEnd(19)} ${e.decision}/${e.outcome}  ${e.intent ?? ''}`.trimEnd());
  }
  add();
  add(
    s.temporal.uiUrl
      ? `Temporal UI: ${s.temporal.uiUrl}`
      : `Temporal: workflow ${s.temporal.workflowId} in namespace ${s.temporal.namespace} (open it in your cluster's UI)`,
  );
  return `${lines.join('\n')}\n`;
}

export async function auditShowCommand(
  operationId: string,
  opts: AuditShowOptions,
  out: AuditOutput,
  env?: Record<string, string | undefined>,
): Promise<void> {
  if (operationId.trim() === '') throw new CliError('give the operation id, e.g. atom-gov audit show 7f3c…', 2);
  const format = opts.format ?? 'text';
  if (format !== 'text' && format !== 'json') throw new CliError(`--format '${format}' is not one of: text, json`, 2);
  const config = await loadAuditConfig(opts, env);
  const store = await openAuditForConfig(config, { forReading: true, ...(env ? { env } : {}) });
  let events: AuditEvent[];
  let quota: QuotaMovement[];
  try {
    events = await queryAudit(store, {
      operationId,
      ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
      order: 'asc',
      limit: 10_000,
    });
    quota = events.length > 0 ? await quotaMovements(config, operationId, events[0]!.tenant) : [];
  } finally {
    await store.close();
  }
  if (events.length === 0) {
    throw new CliError(
      `no audit events for operation '${operationId}'${opts.tenant !== undefined ? ` of tenant '${opts.tenant}'` : ''} ` +
        '(list recent ones with: atom-gov audit --decision governed)',
    );
  }
  const tenants = new Set(events.map((e) => e.tenant));
  if (tenants.size > 1) {
    throw new CliError(
      `operation '${operationId}' appears under several tenants (${[...tenants].join(', ')}): add --tenant`,
      2,
    );
  }
  const story = buildStory(operationId, events, quota, config);
  out.stdout(format === 'json' ? `${JSON.stringify(story, null, 2)}\n` : formatStory(story));
}

/** The operation's reservations (`<operationId>:q<i>:<rule>:<resource>`, written by the workflow's quota saga). */
async function quotaMovements(config: AtomGovConfig, operationId: string, tenant: string): Promise<QuotaMovement[]> {
  const { createDataSource } = await import('@atom-gov/audit');
  const opts = {
    ...(config.database.url !== undefined ? { databaseUrl: config.database.url } : {}),
    sqlitePath: config.database.sqlitePath,
  };
  const db = await createDataSource(opts).initialize();
  try {
    const pg = config.database.url !== undefined;
    const prefix = `${operationId.replace(/[\\%_]/g, (c) => `\\${c}`)}:q%`;
    const rows = (await db.query(
      `SELECT id, counter_key, amount, status FROM quota_reservations WHERE id LIKE ${pg ? '$1' : '?'} ESCAPE '\\' ` +
        `AND tenant = ${pg ? '$2' : '?'} ORDER BY id`,
      [prefix, tenant],
    )) as Array<{ id: string; counter_key: string | null; amount: number | string; status: string }>;
    return rows.map((r) => ({ reservation: r.id, counter: r.counter_key, amount: Number(r.amount), status: r.status }));
  } finally {
    await db.destroy();
  }
}

const processOutput: AuditOutput = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Adds `show` under `atom-gov audit` (registered after the audit command). */
export function register(program: Command): void {
  const audit = program.commands.find((c) => c.name() === 'audit');
  if (!audit) throw new Error('register the audit command before audit show');
  audit
    .command('show')
    .description("One operation's whole story: request, decision, approvals, execution, quota, Temporal link")
    .argument('<operation>', 'operation id (the Temporal workflow id), e.g. from atom-gov audit --decision governed')
    .option(
      '--config <file>',
      'config file (default: ATOM_GOV_CONFIG or ~/.config/atom-sage/governance/mcp-governance.yaml)',
    )
    .option('--data-dir <dir>', 'data directory (default: ATOM_GOV_DATA_DIR or ~/.local/share/atom-gov)')
    .option('--tenant <tenant>', 'only this tenant')
    .option('--format <format>', 'text (default) or json')
    .action(async (operationId: string, opts: AuditShowOptions, command: Command) => {
      // Options the parent `audit` also defines are parsed by it wherever they appear.
      const parent = (command.parent?.opts() ?? {}) as AuditShowOptions;
      const merged: AuditShowOptions = { ...parent, ...stripUndefined(opts) };
      await auditShowCommand(operationId, merged, processOutput);
    });
}

function stripUndefined(opts: AuditShowOptions): AuditShowOptions {
  return Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as AuditShowOptions;
}
