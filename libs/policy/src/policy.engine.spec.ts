// Precedence, time windows (across DST), shadow mode, visibility = callability, explain.
import { beforeAll, describe, expect, it } from '@jest/globals';
import { compilePolicy, type DecisionContext, denialMessage, type PolicyEngine } from './index.js';
import { loadTree } from './test-config.js';

const base = (over: Partial<DecisionContext> = {}): DecisionContext => ({
  tenant: 'default',
  user: 'bob',
  roles: [],
  server: 'fs',
  method: 'tools/call',
  name: 'read_file',
  transport: 'http',
  local: true,
  time: new Date('2026-03-30T10:00:00Z'),
  ...over,
});

const SERVERS = `
atom_gov:
  global: { enforcement: hard }
  servers:
    - { name: fs, command: node, audit_level: summary }
    - { name: other, command: node }
    - { name: deploy, command: node }
  policy_files: [p.yaml]
`;

const doc = (yaml: string) => `---\n${yaml.trim()}\n`;

describe('precedence', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    const policies = [
      // Interns may only read, on every server...
      `policy: { name: interns_read_only, trigger: { mcp_server: all, roles: [intern] }, action: { tools: { allow: ['read_*', 'list_*'] } } }`,
      // ...but on fs (a named server: more specific) they may also write files.
      `policy: { name: fs_interns_write, trigger: { mcp_server: fs, roles: [intern] }, action: { tools: { allow: ['read_*', 'list_*', write_file] } } }`,
      // An explicit deny beats every allow, however specific.
      `policy: { name: never_wipe, trigger: { mcp_server: all, operation: wipe_disk }, action: { deny: { message: 'wiping disks is never allowed' } } }`,
      `policy: { name: admins_everything, trigger: { mcp_server: fs, roles: [admin] }, action: { tools: { allow: ['*'] } } }`,
      // A tenant rule may only restrict: its allow-all cannot widen the intern list, its deny-list applies.
      `policy: { name: acme_wide_open, trigger: { mcp_server: fs, tenants: [acme] }, action: { tools: { allow: ['*'], deny: [read_secret] } } }`,
      // exact > glob: debug_* is denied but debug_status is explicitly allowed.
      `policy: { name: no_debug, trigger: { mcp_server: other }, action: { tools: { deny: ['debug_*'] } } }`,
      `policy: { name: status_ok, trigger: { mcp_server: other }, action: { tools: { allow: [debug_status, 'ping*', 'reset'] } } }`,
      // Equal rank: deny beats allow.
      `policy: { name: no_ping, trigger: { mcp_server: other }, action: { tools: { deny: ['ping*'] } } }`,
      // Audit levels: a named server+operation rule beats the server's audit_level; a tenant rule only raises.
      `policy: { name: fs_write_full, trigger: { mcp_server: fs, operation: write_file }, action: { tools: { deny: [] } }, audit: { log_level: full } }`,
      `policy: { name: acme_quiet, trigger: { mcp_server: other, tenants: [acme] }, action: { tools: { deny: [] } }, audit: { log_level: none } }`,
      `policy: { name: all_none, trigger: { mcp_server: all }, action: { tools: { deny: [] } }, audit: { log_level: none } }`,
      // Approvals: the most specific rule's parameters win.
      `policy: { name: deploy_any, trigger: { mcp_server: deploy, operation: 'workers.*' }, action: { require_approval: { approvers: [a@x.io], min_approvals: 1 } } }`,
      `policy: { name: deploy_exact, trigger: { mcp_server: deploy, operation: workers.deploy }, action: { require_approval: { approvers: [a@x.io, b@x.io], min_approvals: 2, timeout: 30m } } }`,
      `policy: { name: deploy_all, trigger: { mcp_server: all, operation: workers.deploy }, action: { require_approval: { approvers: [c@x.io] } } }`,
    ];
    engine = compilePolicy(await loadTree({ 'mcp-governance.yaml': SERVERS, 'p.yaml': policies.map(doc).join('') }));
  });

  const effect = (over: Partial<DecisionContext>) => engine.decide(base(over)).effect;

  it.each([
    ['intern reads anywhere', { roles: ['intern'], server: 'deploy', name: 'read_x' }, 'allow'],
    ['intern cannot write on deploy', { roles: ['intern'], server: 'deploy', name: 'write_file' }, 'deny'],
    ['named-server allow-list beats the all-servers list', { roles: ['intern'], name: 'write_file' }, 'allow'],
    ['but not for tools it does not list', { roles: ['intern'], name: 'move_file' }, 'deny'],
    ['explicit deny beats an admin allow-all', { roles: ['admin'], name: 'wipe_disk' }, 'deny'],
    ['admin gets everything else', { roles: ['admin'], name: 'move_file' }, 'allow'],
    ['tenant allow-all cannot widen the intern list', { roles: ['intern'], tenant: 'acme', name: 'move_file' }, 'deny'],
    ['tenant deny-list restricts', { tenant: 'acme', name: 'read_secret' }, 'deny'],
    ['other tenants are unaffected', { tenant: 'globex', name: 'read_secret' }, 'allow'],
    ['exact allow beats glob deny', { server: 'other', name: 'debug_status' }, 'allow'],
    ['glob deny applies otherwise', { server: 'other', name: 'debug_dump' }, 'deny'],
    ['equal rank: deny beats allow', { server: 'other', name: 'ping_all' }, 'deny'],
  ] as Array<[string, Partial<DecisionContext>, string]>)('%s', (_title, over, expected) => {
    expect(effect(over)).toBe(expected);
  });

  it('a tenant rule in shadow mode cannot soften a hard denial of the global policy', async () => {
    const e = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': SERVERS,
        'p.yaml': [
          `policy: { name: no_rm, trigger: { mcp_server: fs, operation: rm }, action: { deny: true } }`,
          `policy: { name: acme_trial, enforcement: warn, trigger: { mcp_server: fs, tenants: [acme] }, action: { deny: true } }`,
        ]
          .map(doc)
          .join(''),
      }),
    );
    const d = e.decide(base({ tenant: 'acme', name: 'rm' }));
    expect(d).toMatchObject({ effect: 'deny', policy: 'no_rm', rules: ['no_rm'] });
    expect(d.wouldDeny.map((w) => w.rule)).toEqual(['acme_trial']);
    expect(e.decide(base({ tenant: 'acme', name: 'ls' })).effect).toBe('allow');
  });

  it('names the rule and reason of a denial, and marks list-based denials hidden', () => {
    const wipe = engine.decide(base({ name: 'wipe_disk' }));
    expect(wipe).toMatchObject({
      policy: 'never_wipe',
      reason: 'wiping disks is never allowed',
      rules: ['never_wipe'],
    });
    expect(wipe.hidden).toBeUndefined();
    const move = engine.decide(base({ roles: ['intern'], name: 'move_file' }));
    expect(move).toMatchObject({ policy: 'fs_interns_write', hidden: true });
    expect(move.reason).toBe("'move_file' is not on the allow-list of fs_interns_write");
  });

  it('audit level: specific rule > server setting > general rule; tenant rules only raise', () => {
    expect(engine.decide(base({ name: 'write_file' })).obligations.auditLevel).toBe('full');
    expect(engine.decide(base({ name: 'read_file' })).obligations.auditLevel).toBe('summary');
    expect(engine.decide(base({ server: 'other', name: 'reset' })).obligations.auditLevel).toBe('full');
    expect(engine.decide(base({ server: 'other', name: 'reset', tenant: 'acme' })).obligations.auditLevel).toBe('full');
  });

  it('approval parameters come from the most specific trigger (exact > glob > all servers)', () => {
    const d = engine.decide(base({ server: 'deploy', name: 'workers.deploy' }));
    expect(d.effect).toBe('governed');
    expect(d.governed?.approval).toMatchObject({ rule: 'deploy_exact', minApprovals: 2, timeoutMs: 30 * 60_000 });
    expect(engine.decide(base({ server: 'deploy', name: 'workers.list' })).governed?.approval?.rule).toBe('deploy_any');
    expect(engine.decide(base({ server: 'fs', name: 'workers.deploy' })).governed?.approval?.rule).toBe('deploy_all');
  });

  it('visibility equals callability for every tool and caller', () => {
    const tools = [
      'read_file',
      'write_file',
      'move_file',
      'wipe_disk',
      'read_secret',
      'debug_status',
      'debug_dump',
      'ping_all',
    ];
    const callers: Array<Partial<DecisionContext>> = [
      {},
      { roles: ['intern'] },
      { roles: ['admin'] },
      { tenant: 'acme' },
      { tenant: 'acme', roles: ['intern'] },
      { server: 'other' },
      { server: 'other', roles: ['intern'] },
    ];
    let hiddenCount = 0;
    for (const caller of callers)
      for (const tool of tools) {
        const ctx = base({ ...caller, name: tool });
        const visible = engine.visible(ctx, 'tools', tool);
        expect([caller, tool, visible]).toEqual([caller, tool, engine.decide(ctx).effect !== 'deny']);
        if (!visible) hiddenCount++;
      }
    expect(hiddenCount).toBeGreaterThan(5);
  });
});

describe('time windows', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': SERVERS,
        'p.yaml': [
          `policy: { name: office_hours, trigger: { mcp_server: deploy }, action: { access_hours: { days: [mon, tue, wed, thu, fri], hours: '09:00-18:00', timezone: Europe/Berlin } } }`,
          `policy: { name: change_freeze, trigger: { mcp_server: fs, operation: write_file, time: { dates: ['2026-12-20..2027-01-04'], timezone: Europe/Berlin } }, action: { deny: { message: 'change freeze 2026-12-20..2027-01-04' } } }`,
          `policy: { name: night_batch, trigger: { mcp_server: other, time: { hours: '22:00-06:00', timezone: America/New_York } }, action: { rate_limit: { limit: 10/minute } } }`,
        ]
          .map(doc)
          .join(''),
      }),
    );
  });

  const at = (iso: string, over: Partial<DecisionContext> = {}) =>
    engine.decide(base({ server: 'deploy', name: 'workers.deploy', time: new Date(iso), ...over }));

  it.each([
    // Friday before the spring DST change (CET, UTC+1).
    ['2026-03-27T07:59:00Z', 'deny'], // 08:59 CET
    ['2026-03-27T08:00:00Z', 'allow'], // 09:00 CET
    ['2026-03-27T16:59:00Z', 'allow'], // 17:59 CET
    ['2026-03-27T17:00:00Z', 'deny'], // 18:00 CET
    ['2026-03-28T10:00:00Z', 'deny'], // Saturday
    // Monday after the change (CEST, UTC+2): the same wall-clock hours are an hour earlier in UTC.
    ['2026-03-30T06:59:00Z', 'deny'], // 08:59 CEST
    ['2026-03-30T07:00:00Z', 'allow'], // 09:00 CEST
    ['2026-03-30T15:59:00Z', 'allow'], // 17:59 CEST
    ['2026-03-30T16:00:00Z', 'deny'], // 18:00 CEST
    // Autumn change (2026-10-25): Monday 26th is CET again.
    ['2026-10-26T07:59:00Z', 'deny'],
    ['2026-10-26T08:00:00Z', 'allow'],
  ])('office hours Mon-Fri 09:00-18:00 Europe/Berlin at %s: %s', (iso, expected) => {
    expect(at(iso).effect).toBe(expected);
  });

  it('an out-of-hours denial says when it would be allowed', () => {
    const d = at('2026-03-28T10:00:00Z');
    expect(d.reason).toBe('outside allowed hours Mon-Fri 09:00-18:00 Europe/Berlin');
    expect(denialMessage(d)).toBe(
      'Denied by policy office_hours: outside allowed hours Mon-Fri 09:00-18:00 Europe/Berlin; call again within Mon-Fri 09:00-18:00 Europe/Berlin',
    );
  });

  it.each([
    ['2026-12-19T22:59:00Z', 'allow'], // 23:59 on the 19th in Berlin
    ['2026-12-19T23:00:00Z', 'deny'], // 00:00 on the 20th in Berlin
    ['2027-01-04T22:59:00Z', 'deny'],
    ['2027-01-04T23:00:00Z', 'allow'],
  ])('change freeze (local dates) at %s: %s', (iso, expected) => {
    expect(at(iso, { server: 'fs', name: 'write_file' }).effect).toBe(expected);
  });

  it('a window wrapping midnight in New York applies across the DST change', () => {
    const limits = (iso: string) => at(iso, { server: 'other', name: 'x' }).obligations.rateLimits.map((r) => r.rule);
    expect(limits('2026-03-07T03:30:00Z')).toEqual(['night_batch']); // 22:30 EST
    expect(limits('2026-03-09T02:30:00Z')).toEqual(['night_batch']); // 22:30 EDT
    expect(limits('2026-03-09T01:30:00Z')).toEqual([]); // 21:30 EDT
    expect(limits('2026-03-09T10:30:00Z')).toEqual([]); // 06:30 EDT
  });
});

describe('shadow mode', () => {
  it('enforcement: warn on a rule turns its denial into allow + wouldDeny', async () => {
    const engine = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': SERVERS,
        'p.yaml': [
          `policy: { name: trial_deny, enforcement: warn, trigger: { mcp_server: fs, operation: write_file }, action: { deny: { message: 'writes will be blocked from May' } }, audit: { notification: 'slack://sec' } }`,
          `policy: { name: hard_deny, trigger: { mcp_server: fs, operation: delete_file }, action: { deny: true } }`,
        ]
          .map(doc)
          .join(''),
      }),
    );
    const d = engine.decide(base({ name: 'write_file' }));
    expect(d.effect).toBe('allow');
    expect(d.enforcement).toBe('warn');
    expect(d.wouldDeny).toEqual([
      { rule: 'trial_deny', reason: 'writes will be blocked from May', enforcement: 'warn' },
    ]);
    expect(d.obligations.alerts).toMatchObject({
      onWouldDeny: true,
      targets: [expect.objectContaining({ uri: 'slack://sec' })],
    });
    expect(d.matches).toContainEqual(expect.objectContaining({ rule: 'trial_deny', effect: 'would-deny' }));
    expect(engine.visible(base(), 'tools', 'write_file')).toBe(true);
    expect(engine.decide(base({ name: 'delete_file' })).effect).toBe('deny');
  });

  it('global enforcement: warn puts every rule without its own enforcement in shadow mode', async () => {
    const engine = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': SERVERS.replace('enforcement: hard', 'enforcement: warn'),
        'p.yaml': [
          `policy: { name: office_hours, trigger: { mcp_server: deploy }, action: { access_hours: { days: [mon], timezone: UTC } } }`,
          `policy: { name: still_hard, enforcement: hard, trigger: { mcp_server: fs }, action: { tools: { deny: [rm] } } }`,
          `policy: { name: deploy_approval, trigger: { mcp_server: deploy }, action: { require_approval: { approvers: [a@x.io] } } }`,
        ]
          .map(doc)
          .join(''),
      }),
    );
    const tue = engine.decide(base({ server: 'deploy', name: 'x', time: new Date('2026-03-31T10:00:00Z') }));
    expect(tue.effect).toBe('allow');
    expect(tue.wouldDeny.map((w) => w.rule)).toEqual(['office_hours', 'deploy_approval']);
    expect(tue.wouldDeny[0]!.reason).toBe('outside allowed hours Mon UTC');
    expect(engine.decide(base({ name: 'rm' })).effect).toBe('deny');
  });
});

describe('explain', () => {
  it('lists matched rules with why and the others with why not', async () => {
    const engine = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': SERVERS,
        'p.yaml': [
          `policy: { name: prod_approval, trigger: { mcp_server: deploy, operation: workers.deploy, resource_pattern: '*-prod-*' }, action: { require_approval: { approvers: [a@x.io] } } }`,
          `policy: { name: fs_only, trigger: { mcp_server: fs }, action: { rate_limit: { limit: 5/second } } }`,
          `policy: { name: ops_only, trigger: { mcp_server: all, roles: [ops] }, action: { deny: true } }`,
          `policy: { name: off, enabled: false, trigger: { mcp_server: all }, action: { deny: true } }`,
        ]
          .map(doc)
          .join(''),
      }),
    );
    const staging = engine.explain(base({ server: 'deploy', name: 'workers.deploy', args: { name: 'staging' } }));
    expect(staging.decision.effect).toBe('allow');
    const why = Object.fromEntries(staging.rules.map((r) => [r.rule, [r.matched, r.why]]));
    expect(why).toEqual({
      prod_approval: [false, 'no argument value or resource URI matches *-prod-*'],
      fs_only: [false, 'server deploy is not fs'],
      ops_only: [false, 'roles [] include none of ops'],
      off: [false, 'disabled (enabled: false)'],
    });
    const prod = engine.explain(base({ server: 'deploy', name: 'workers.deploy', args: { name: 'eu-prod-1' } }));
    expect(prod.decision.effect).toBe('governed');
    expect(prod.rules[0]).toMatchObject({ rule: 'prod_approval', matched: true });
    expect(prod.rules[0]!.why).toContain(
      'governed: mcp_server deploy; operation workers.deploy; resource_pattern *-prod-*',
    );
  });
});

describe('isLocalCaller', () => {
  it('counts the stdio bridge and loopback addresses as local, anything else (or unknown) as remote', async () => {
    const { isLocalCaller } = await import('./index.js');
    expect(isLocalCaller('stdio')).toBe(true);
    expect(isLocalCaller('http', '127.0.0.1')).toBe(true);
    expect(isLocalCaller('http', '::ffff:127.0.0.1')).toBe(true);
    expect(isLocalCaller('http', '::1')).toBe(true);
    expect(isLocalCaller('http', '10.0.0.5')).toBe(false);
    expect(isLocalCaller('http', '::ffff:10.0.0.5')).toBe(false);
    expect(isLocalCaller('http')).toBe(false);
  });
});

describe('decision cache', () => {
  let engine: PolicyEngine;
  beforeAll(async () => {
    engine = compilePolicy(
      await loadTree({
        'mcp-governance.yaml': SERVERS,
        'p.yaml': [
          `policy: { name: office_hours, trigger: { mcp_server: deploy }, action: { access_hours: { days: [mon, tue, wed, thu, fri], hours: '09:00-18:00', timezone: Europe/Berlin } } }`,
          `policy: { name: prod_approval, trigger: { mcp_server: fs, operation: write_file, resource_pattern: '*-prod-*' }, action: { require_approval: { approvers: [a@x.io] } } }`,
          `policy: { name: ops_no_wipe, trigger: { mcp_server: fs, roles: [ops] }, action: { tools: { deny: [wipe] } } }`,
        ]
          .map(doc)
          .join(''),
      }),
    );
  });

  it('gives repeated callers the same frozen decision', () => {
    const a = engine.decide(base({ name: 'wipe', roles: ['ops'] }));
    const b = engine.decide(base({ name: 'wipe', roles: ['ops'] }));
    expect(a.effect).toBe('deny');
    expect(b).toBe(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.obligations) && Object.isFrozen(a.rules)).toBe(true);
    expect(() => (a.rules as string[]).push('x')).toThrow(TypeError);
  });

  it('keys on every context part a rule reads: roles, user, locality, the minute of a time window', () => {
    expect(engine.decide(base({ name: 'wipe', roles: ['ops'] })).effect).toBe('deny');
    expect(engine.decide(base({ name: 'wipe', roles: [] })).effect).toBe('allow');
    expect(engine.decide(base({ name: 'wipe', roles: ['ops'], user: 'eve' })).effect).toBe('deny');
    // Roles that would read alike if joined naively stay apart.
    expect(engine.decide(base({ name: 'wipe', roles: ['o', 'ps'] })).effect).toBe('allow');
    const deploy = (iso: string) =>
      engine.decide(base({ server: 'deploy', name: 'workers.deploy', time: new Date(iso) })).effect;
    expect(deploy('2026-03-27T07:59:59Z')).toBe('deny'); // 08:59:59 CET
    expect(deploy('2026-03-27T08:00:00Z')).toBe('allow'); // the next minute
    expect(deploy('2026-03-27T07:59:00Z')).toBe('deny'); // the cached earlier minute still denies
  });

  it('never caches decisions that depend on argument values (resource_pattern)', () => {
    const call = (name: string) => engine.decide(base({ name: 'write_file', args: { path: name } })).effect;
    expect(call('eu-prod-1')).toBe('governed');
    expect(call('staging')).toBe('allow');
    expect(call('us-prod-2')).toBe('governed');
  });
});
