// Every seed policy example end to end: the real gateway with the governance interceptor, real upstreams
// (server-everything, server-memory) standing in for the seed's servers, the official MCP SDK client, the real
// audit store. Seed server names map to real upstreams (cloudflare_mcp, perplexity_mcp -> server-everything);
// seed operation names map to real tools where the upstream has no such tool (research.* / workers.deploy -> echo).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { CALLERS, server, startGoverned, text, type GovernedGateway } from './support/governance-gateway.js';

const seedDir = join(process.cwd(), 'examples/seed/policies');
const seed = (file: string) => readFileSync(join(seedDir, file), 'utf8');
const { alice, bob, carol } = CALLERS;

let gw: GovernedGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});
afterAll(async () => {
  await gw?.close();
});

async function lastEvent(g: GovernedGateway, user: string) {
  const events = await g.audit.query({ user, method: 'tools/call' } as never);
  return events[0]!;
}

describe('seed: Rate Limiting (research_rate_limit 100/hour per user, burst 10)', () => {
  it('blocks the 11th rapid call with a retry-after message while another user still passes', async () => {
    const policy = seed('06-rate-limiting.yaml').replace('operation: research.*', 'operation: echo');
    gw = await startGoverned(`  servers:\n${server('perplexity_mcp', 'everything')}  policy_files: [rate.yaml]\n`, {
      'rate.yaml': policy,
    });
    const a = await gw.connect(alice, 'perplexity_mcp');
    for (let i = 0; i < 10; i++) {
      const r = await a.callTool({ name: 'echo', arguments: { message: `q${i}` } });
      expect(r.isError).toBeFalsy();
    }
    const denied = await a.callTool({ name: 'echo', arguments: { message: 'q10' } });
    expect(denied.isError).toBe(true);
    expect(text(denied)).toMatch(
      /^Denied by policy research_rate_limit: .*limit .*per user exceeded; retry after \d+ min/,
    );
    const b = await gw.connect(bob, 'perplexity_mcp');
    expect(text(await b.callTool({ name: 'echo', arguments: { message: 'bob' } }))).toBe('Echo: bob');
    const ev = await lastEvent(gw, 'alice');
    expect(ev).toMatchObject({ decision: 'deny', outcome: 'denied', policy: 'research_rate_limit' });
    expect(ev.configVersion).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('seed: PII Protection (pii_redaction: ssn, credit_card, email, phone)', () => {
  it('redacts PII in arguments and results; the audit record holds kinds, not values', async () => {
    gw = await startGoverned(
      `  servers:\n${server('everything', 'everything', '      policies:\n        - audit_level: full\n')}  policy_files: [pii.yaml]\n`,
      { 'pii.yaml': seed('08-pii-protection.yaml') },
    );
    const c = await gw.connect(alice, 'everything');
    const secrets = ['536-22-1234', 'jane.doe@example.com', '4111 1111 1111 1111', '+1 415-555-0132'];
    const r = await c.callTool({
      name: 'echo',
      arguments: { message: `ssn ${secrets[0]} mail ${secrets[1]} card ${secrets[2]} phone ${secrets[3]}` },
    });
    const out = text(r);
    for (const s of secrets) expect(out).not.toContain(s);
    expect(out).toContain('[REDACTED:ssn]');
    expect(out).toContain('[REDACTED:email]');
    expect(out).toContain('[REDACTED:credit_card]');
    expect(out).toContain('[REDACTED:phone]');
    const ev = await lastEvent(gw, 'alice');
    const stored = JSON.stringify(ev);
    for (const s of secrets) expect(stored).not.toContain(s);
    expect(ev.notes).toEqual(expect.arrayContaining([expect.stringMatching(/^pii in arguments: .*ssn×1/)]));
    expect(ev.errorMessage ?? null).toBeNull();
    expect(ev.argsSummary).toContain('[REDACTED:email]');

    // A kind the policy does not redact (a token) reaches the upstream, but a full audit record never keeps it.
    const token = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';
    expect(text(await c.callTool({ name: 'echo', arguments: { message: `token ${token}` } }))).toContain(token);
    const ev2 = await lastEvent(gw, 'alice');
    expect(ev2.argsSummary).toContain('[REDACTED:secret]');
    expect(JSON.stringify(ev2)).not.toContain(token);
    expect(ev.rules).toContain('pii_redaction');
  });
});

describe('seed: Approval Workflow (production_deployment on *-prod-*)', () => {
  it('governs a call whose argument matches *-prod-* (fails closed without the approval service)', async () => {
    const policy = seed('05-approval-workflow.yaml').replace('operation: workers.deploy', 'operation: echo');
    gw = await startGoverned(`  servers:\n${server('cloudflare_mcp', 'everything')}  policy_files: [approval.yaml]\n`, {
      'approval.yaml': policy,
    });
    const c = await gw.connect(alice, 'cloudflare_mcp');
    const staged = await c.callTool({ name: 'echo', arguments: { message: 'api-staging-eu' } });
    expect(text(staged)).toBe('Echo: api-staging-eu');
    const prod = await c.callTool({ name: 'echo', arguments: { message: 'api-prod-eu' } });
    expect(prod.isError).toBe(true);
    expect(text(prod)).toBe(
      'Denied by policy production_deployment: requires approval: the approval service is not available',
    );
    expect(await lastEvent(gw, 'alice')).toMatchObject({ policy: 'production_deployment', decision: 'governed' });
  }, 60_000); // the governed runner's reachability probe refuses within ~2 s (no Temporal retry schedule)
});

describe('seed: the four use cases and the configuration block', () => {
  it('use cases 1-4 and the server policies: approval, rate limit, compliance PII, tenant quota, local_only', async () => {
    const files: Record<string, string> = {};
    for (const f of ['01-enterprise-deployment.yaml', '02-resource-management.yaml', '03-compliance-requirements.yaml'])
      files[f] = seed(f);
    const servers = `  servers:
${server('cloudflare_mcp', 'everything', '      policies:\n        - rate_limit: 1000/hour\n        - audit_level: full\n')}${server(
      'ollama_mcp',
      'everything',
      '      policies:\n        - local_only: true\n        - audit_level: summary\n',
    )}${server('perplexity_mcp', 'everything')}`;
    gw = await startGoverned(`${servers}  policy_files: ['0*.yaml']\n`, files);
    // 3. Compliance (all_servers audit pii_detection): the result is redacted; ollama_mcp (local_only, loopback
    // caller) answers.
    const ollama = await gw.connect(alice, 'ollama_mcp');
    const r = await ollama.callTool({ name: 'echo', arguments: { message: 'mail me at jane.doe@example.com' } });
    expect(text(r)).toBe('Echo: mail me at [REDACTED:email]');
    // ollama_mcp audit_level summary: keys and sizes, never values.
    const ev = await lastEvent(gw, 'alice');
    // The size of what was forwarded: the arguments were redacted before they left.
    expect(ev.argsSummary).toBe('{"message":"string 29B"}');
    expect(JSON.stringify(ev)).not.toContain('jane.doe');
    // 1. Enterprise deployment: production_writes (no operation group defined: every operation) needs approval.
    const cf = await gw.connect(bob, 'cloudflare_mcp');
    const w = await cf.callTool({ name: 'echo', arguments: { message: 'deploy' } });
    expect(text(w)).toMatch(/requires approval: the approval service is not available/);
    // 2. Resource management: research_queries rate limit 100/hour with resource tracking: allowed and counted.
    const px = await gw.connect(bob, 'perplexity_mcp');
    expect(text(await px.callTool({ name: 'echo', arguments: { message: 'r' } }))).toBe('Echo: r');
    await gw.close();
    // 4. Multi-tenant SaaS (quota_per_tenant) makes every call a governed quota reservation: fail closed here.
    gw = await startGoverned(`${servers}  policy_files: [t.yaml]\n`, { 't.yaml': seed('04-multi-tenant-saas.yaml') });
    const q = await (await gw.connect(carol, 'perplexity_mcp')).callTool({ name: 'echo', arguments: { message: 'x' } });
    expect(text(q)).toBe(
      'Denied by policy tenants: requires a quota reservation: the approval service is not available',
    );
  }, 60_000);
});

describe('policies beyond the seed text: tenants, time windows, visibility, shadow mode, audit levels', () => {
  it('tenant isolation: a tenant rule restricts only that tenant', async () => {
    gw = await startGoverned(`  servers:\n${server('everything', 'everything')}  policy_files: [t.yaml]\n`, {
      't.yaml': `policy:
  name: globex_no_echo
  trigger:
    mcp_server: everything
    operation: echo
    tenants: [globex]
  action:
    deny:
      message: globex may not echo
`,
    });
    const a = await gw.connect(alice, 'everything');
    expect(text(await a.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
    const c = await gw.connect(carol, 'everything');
    const r = await c.callTool({ name: 'echo', arguments: { message: 'hi' } });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('Denied by policy globex_no_echo: globex may not echo');
  });

  it('time window: outside the allowed days the call is denied naming the window', async () => {
    const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
    const today = new Date().getUTCDay();
    const other = days.filter((_, i) => i !== today && i !== (today + 1) % 7 && i !== (today + 6) % 7);
    gw = await startGoverned(`  servers:\n${server('everything', 'everything')}  policy_files: [hours.yaml]\n`, {
      'hours.yaml': `policy:
  name: office_days
  trigger:
    mcp_server: everything
    operation: echo
  action:
    access_hours:
      days: [${other.join(', ')}]
      hours: '00:00-23:59'
      timezone: UTC
`,
    });
    const a = await gw.connect(alice, 'everything');
    const r = await a.callTool({ name: 'echo', arguments: { message: 'hi' } });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/^Denied by policy office_days: outside allowed hours/);
    // Other tools are not governed by the window.
    expect((await a.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } })).isError).toBeFalsy();
  });

  it('tool visibility: a tool the caller may not call is not listed and looks unknown', async () => {
    gw = await startGoverned(`  servers:\n${server('everything', 'everything')}  policy_files: [vis.yaml]\n`, {
      'vis.yaml': `policy:
  name: contractors_sum_only
  trigger:
    mcp_server: everything
    roles: [contractor]
  action:
    tools:
      allow: [get-sum]
`,
    });
    const c = await gw.connect(carol, 'everything');
    const names = (await c.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(['get-sum']);
    const hidden = await c.callTool({ name: 'echo', arguments: { message: 'x' } });
    const unknown = await c.callTool({ name: 'no-such-tool', arguments: {} });
    expect(hidden.isError).toBe(true);
    expect(text(hidden)).toBe(text(unknown).replace('no-such-tool', 'echo'));
    const a = await gw.connect(alice, 'everything');
    expect((await a.listTools()).tools.map((t) => t.name)).toContain('echo');
  });

  it('shadow mode: a warn rule allows the call and records the would-be denial', async () => {
    gw = await startGoverned(`  servers:\n${server('everything', 'everything')}  policy_files: [shadow.yaml]\n`, {
      'shadow.yaml': `policy:
  name: no_echo_trial
  enforcement: warn
  trigger:
    mcp_server: everything
    operation: echo
  action:
    deny:
      message: echo will need an admin
`,
    });
    const a = await gw.connect(alice, 'everything');
    expect(text(await a.callTool({ name: 'echo', arguments: { message: 'hi' } }))).toBe('Echo: hi');
    const ev = await lastEvent(gw, 'alice');
    expect(ev).toMatchObject({ decision: 'allow', outcome: 'ok' });
    expect(ev.notes).toContain('would deny (warn) by policy no_echo_trial: echo will need an admin');
  });

  it('audit_level none / summary / full decide what the record keeps', async () => {
    gw = await startGoverned(
      `  servers:
${server('s_none', 'everything', '      policies:\n        - audit_level: none\n')}${server(
        's_summary',
        'everything',
        '      policies:\n        - audit_level: summary\n',
      )}${server('s_full', 'everything', '      policies:\n        - audit_level: full\n')}`,
    );
    for (const s of ['s_none', 's_summary', 's_full']) {
      const c = await gw.connect(alice, s);
      await c.callTool({ name: 'echo', arguments: { message: 'payload' } });
    }
    const rec = async (s: string) => (await gw!.audit.query({ server: s, method: 'tools/call' } as never))[0]!;
    const none = await rec('s_none');
    expect(none.argsSummary).toBeUndefined();
    expect(none.resultSummary).toBeUndefined();
    const summary = await rec('s_summary');
    expect(summary.argsSummary).toBe('{"message":"string 9B"}');
    expect(summary.resultSummary).toBe('{"content":[{"type":"text","text":"string 15B"}]}');
    const full = await rec('s_full');
    expect(full.argsSummary).toBe('{"message":"payload"}');
    expect(full.resultSummary).toBe('{"content":[{"type":"text","text":"Echo: payload"}]}');
  });
});

describe('PII self-test at start', () => {
  it('refuses to start when an enabled recognizer cannot prove itself, naming it', async () => {
    const start = startGoverned(`  servers:\n${server('everything', 'everything')}  policy_files: [p.yaml]\n`, {
      'p.yaml': seed('08-pii-protection.yaml').replace('        - phone', '        - phone\n        - passport_no'),
    });
    await expect(start).rejects.toThrow(/PII self-test failed, refusing to start: passport_no: unknown PII kind/);
  });
});
