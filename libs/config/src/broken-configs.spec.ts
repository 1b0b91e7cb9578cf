// Every broken config gives one precise, positioned message: file:line:col  path  message (hint).
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ConfigError, formatIssues, loadConfig } from './index.js';
import { writeTree } from './test-files.js';

const SERVER = 'atom_gov:\n  servers:\n    - name: cloudflare_mcp\n      command: node\n';
const withPolicy = (policy: string) => ({
  'c.yaml': `${SERVER}  policy_files: [policies/*.yaml]\n`,
  'policies/p.yaml': policy,
});
const policyDoc = (action: string, extra = '') =>
  `policy:\n  name: p\n  trigger:\n    mcp_server: cloudflare_mcp\n  action:\n${action}${extra}`;

interface Case {
  name: string;
  files: Record<string, string> | string;
  env?: Record<string, string>;
  /** Every error line, with the temp folder removed. */
  expected: string[];
}

const cases: Case[] = [
  {
    name: 'unknown key, with the nearest valid key',
    files: 'atom_gov:\n  globl:\n    mode: proxy\n',
    expected: ["c.yaml:2:3  atom_gov.globl  unknown key 'globl' (did you mean 'global'?)"],
  },
  {
    name: 'unknown key far from any valid key lists the valid ones',
    files: 'atom_gov:\n  global:\n    colour: blue\n',
    expected: [
      "c.yaml:3:5  atom_gov.global.colour  unknown key 'colour' (expected one of: mode, audit, encryption, enforcement)",
    ],
  },
  {
    name: 'misspelt top-level block is one error, not also a missing atom_gov',
    files: 'atom-gov:\n  version: 1\n',
    expected: ["c.yaml:1:1  atom-gov  unknown key 'atom-gov' (did you mean 'atom_gov'?)"],
  },
  {
    name: 'launch without url',
    files: 'atom_gov:\n  servers:\n    - name: h\n      launch:\n        command: node\n',
    expected: [
      "c.yaml:4:7  atom_gov.servers[0].launch  launch: starts an HTTP server, so server 'h' also needs url: (e.g. http://127.0.0.1:{port}/mcp)",
    ],
  },
  {
    name: 'wrong type',
    files: 'atom_gov:\n  global:\n    audit: yes-please\n',
    expected: ["c.yaml:3:12  atom_gov.global.audit  expected true or false, got 'yes-please'"],
  },
  {
    name: 'list where a map is expected',
    files: 'atom_gov:\n  servers:\n    name: a\n',
    expected: ['c.yaml:3:5  atom_gov.servers  expected a list, got a map'],
  },
  {
    name: 'bad rate period',
    files: `${SERVER}      policies:\n        - rate_limit: 100/fortnight\n`,
    expected: [
      "c.yaml:6:23  atom_gov.servers[0].policies[0].rate_limit  unknown period 'fortnight' in rate '100/fortnight': expected one of second, minute, hour, day, week, month",
    ],
  },
  {
    name: 'bad duration',
    files: 'atom_gov:\n  policies:\n    require_approval:\n      timeout: 1 hour\n',
    expected: [
      "c.yaml:4:16  atom_gov.policies.require_approval.timeout  invalid duration '1 hour': expected a number with a unit (ms, s, m, h, d, w) such as 30m or 1h30m",
    ],
  },
  {
    name: 'duration without a unit',
    files: 'atom_gov:\n  policies:\n    require_approval:\n      timeout: 60\n',
    expected: [
      'c.yaml:4:16  atom_gov.policies.require_approval.timeout  expected a duration like 30m or 1h, got number 60 (add a unit: ms, s, m, h, d, w)',
    ],
  },
  {
    name: 'missing environment variable',
    files: 'atom_gov:\n  servers:\n    - name: a\n      command: ${MISSING_BIN}\n',
    expected: [
      'c.yaml:4:16  atom_gov.servers[0].command  environment variable MISSING_BIN is not set (set MISSING_BIN, or write ${MISSING_BIN:-default})',
    ],
  },
  {
    name: 'unknown global mode',
    files: 'atom_gov:\n  global:\n    mode: sidecar\n',
    expected: ["c.yaml:3:11  atom_gov.global.mode  invalid value 'sidecar': expected one of proxy, wrapper, inline"],
  },
  {
    name: 'unknown server transport, with a suggestion',
    files:
      'atom_gov:\n  servers:\n    - name: a\n      url: http://127.0.0.1:9/mcp\n      transport: streamable-http\n',
    expected: [
      "c.yaml:5:18  atom_gov.servers[0].transport  invalid value 'streamable-http': expected one of stdio, streamable_http, sse (did you mean 'streamable_http'?)",
    ],
  },
  {
    name: 'duplicate server name',
    files: `${SERVER}    - name: cloudflare_mcp\n      command: node\n`,
    expected: [
      "c.yaml:5:13  atom_gov.servers[1].name  duplicate server name 'cloudflare_mcp' (first defined at line 3) (server names must be unique)",
    ],
  },
  {
    name: 'server without command, path or url',
    files: 'atom_gov:\n  servers:\n    - name: a\n      args: [x]\n',
    expected: [
      "c.yaml:3:7  atom_gov.servers[0]  server 'a' needs command (or path/package) for a stdio server, or url for an HTTP server",
    ],
  },
  {
    name: 'both command and url',
    files: `${SERVER}      url: http://127.0.0.1:9/mcp\n`,
    expected: [
      "c.yaml:5:7  atom_gov.servers[0].url  server 'cloudflare_mcp' has both command and url: use command for a stdio server or url for an HTTP server, not both (to have the gateway start an HTTP server, move the command under launch:)",
    ],
  },
  {
    name: 'launched server with port auto but no {port} in its url',
    files:
      'atom_gov:\n  servers:\n    - name: h\n      url: http://127.0.0.1:9000/mcp\n      launch:\n        command: node\n        port: auto\n',
    expected: [
      'c.yaml:4:12  atom_gov.servers[0].url  launch.port is auto, so url must contain {port} (e.g. http://127.0.0.1:{port}/mcp)',
    ],
  },
  {
    name: 'policy_files glob that matches nothing',
    files: 'atom_gov:\n  policy_files:\n    - policies/*.yaml\n',
    expected: [
      "c.yaml:3:7  atom_gov.policy_files[0]  no file matches 'policies/*.yaml' (relative to <dir>) (fix the glob or remove the entry)",
    ],
  },
  {
    name: 'YAML syntax error with its position',
    files: 'atom_gov:\n  global:\n    mode: proxy: inline\n',
    expected: ['c.yaml:3:11  (document)  YAML syntax error: Nested mappings are not allowed in compact mappings'],
  },
  {
    name: 'tab used for indentation',
    files: 'atom_gov:\n  global:\n\tmode: proxy\n',
    expected: ['c.yaml:3:1  (document)  YAML syntax error: Tabs are not allowed as indentation'],
  },
  {
    name: 'duplicate YAML key',
    files: 'atom_gov:\n  global:\n    mode: proxy\n    mode: inline\n',
    expected: ['c.yaml:4:5  (document)  YAML syntax error: Map keys must be unique'],
  },
  {
    name: 'bad percentage',
    files: 'atom_gov:\n  policies:\n    resource_limit:\n      alert_threshold: 180%\n',
    expected: [
      "c.yaml:4:24  atom_gov.policies.resource_limit.alert_threshold  percentage '180%' must be between 0% (exclusive) and 100%",
    ],
  },
  {
    name: 'min_approvals greater than the approvers listed',
    files: withPolicy(
      policyDoc('    require_approval:\n      approvers: [ops-lead@company.com]\n      min_approvals: 2\n'),
    ),
    expected: [
      'policies/p.yaml:8:22  policy.action.require_approval.min_approvals  min_approvals is 2 but only 1 approver(s) are listed (list more approvers or lower min_approvals)',
    ],
  },
  {
    name: 'bad enforcement value',
    files: withPolicy(policyDoc('    quota:\n      limit: 100/day\n      enforcement: strict\n')),
    expected: [
      "policies/p.yaml:8:20  policy.action.quota.enforcement  invalid value 'strict': expected one of hard, soft, warn",
    ],
  },
  {
    name: 'policy file with an unknown top-level key',
    files: withPolicy('polcy:\n  name: p\n'),
    expected: ["policies/p.yaml:1:1  polcy  unknown key 'polcy' (did you mean 'policy'?)"],
  },
  {
    name: 'policy naming a server that is not configured',
    files: withPolicy('policy:\n  name: p\n  trigger:\n    mcp_server: cloudflare\n  action:\n    deny: true\n'),
    expected: [
      "policies/p.yaml:4:17  policy.trigger.mcp_server  unknown server 'cloudflare' (did you mean 'cloudflare_mcp'?)",
    ],
  },
  {
    name: 'misspelt action',
    files: withPolicy(policyDoc('    rate_limt:\n      limit: 100/hour\n')),
    expected: ["policies/p.yaml:6:5  policy.action.rate_limt  unknown key 'rate_limt' (did you mean 'rate_limit'?)"],
  },
  {
    name: 'policy without a name',
    files: withPolicy('policy:\n  trigger:\n    mcp_server: all\n  action:\n    deny: true\n'),
    expected: ["policies/p.yaml:2:3  policy.name  missing required key 'name' (a string)"],
  },
  {
    name: 'unknown named level',
    files: withPolicy(policyDoc('    quota:\n      limit: enormous_usage\n')),
    expected: [
      "policies/p.yaml:7:14  policy.action.quota.limit  expected a quota such as 10000/month or a number, or a named level (low, medium, high, low_usage, medium_usage, high_usage), got 'enormous_usage'",
    ],
  },
  {
    name: 'bad notification target',
    files: withPolicy(policyDoc('    deny: true\n', '  audit:\n    notification: slack:ops\n')),
    expected: [
      'policies/p.yaml:8:19  policy.audit.notification  expected slack://<channel>, mailto:<address>, an email address or an http(s) webhook URL',
    ],
  },
  {
    name: 'typo of a setting in an mcp_policy server block (read as a group)',
    files: withPolicy('mcp_policy:\n  cloudflare_mcp:\n    rate_limt: 100/hour\n'),
    expected: [
      "policies/p.yaml:3:16  mcp_policy.cloudflare_mcp.rate_limt  expected a map, got '100/hour' (did you mean 'rate_limit'?)",
    ],
  },
  {
    name: 'bad values inside an mcp_policy operation group',
    files: withPolicy(
      'mcp_policy:\n  cloudflare_mcp:\n    writes:\n      rate_limit: 100/fortnight\n      aprovers: [x@y.z]\n',
    ),
    expected: [
      "policies/p.yaml:4:19  mcp_policy.cloudflare_mcp.writes.rate_limit  unknown period 'fortnight' in rate '100/fortnight': expected one of second, minute, hour, day, week, month",
      "policies/p.yaml:5:7  mcp_policy.cloudflare_mcp.writes.aprovers  unknown key 'aprovers' (did you mean 'approvers'?)",
    ],
  },
  {
    name: 'package that is not installed',
    files: "atom_gov:\n  servers:\n    - name: a\n      package: '@nope/not-installed'\n",
    expected: [
      "c.yaml:4:16  atom_gov.servers[0].package  package '@nope/not-installed' is not installed in or above <dir> (run: npm install @nope/not-installed)",
    ],
  },
  {
    name: 'unknown time zone',
    files: withPolicy(
      'policy:\n  name: p\n  trigger:\n    mcp_server: all\n    time: { timezone: Mars/Olympus }\n  action:\n    deny: true\n',
    ),
    expected: [
      "policies/p.yaml:5:23  policy.trigger.time.timezone  unknown time zone 'Mars/Olympus': expected an IANA name such as Europe/Paris or UTC",
    ],
  },
  {
    name: 'duplicate policy names across files',
    files: {
      'c.yaml': `${SERVER}  policy_files: [a.yaml, b.yaml]\n`,
      'a.yaml': 'policy:\n  name: p\n  trigger: { mcp_server: all }\n  action: { deny: true }\n',
      'b.yaml': 'policy:\n  name: p\n  trigger: { mcp_server: all }\n  action: { deny: true }\n',
    },
    expected: [
      "b.yaml:1:1  policy  duplicate policy name 'p' (also defined at a.yaml:1) (policy names must be unique)",
    ],
  },
];

async function errorsFor(c: Case): Promise<string[]> {
  const dir = writeTree(typeof c.files === 'string' ? { 'c.yaml': c.files } : c.files);
  try {
    await loadConfig({ configPath: join(dir, 'c.yaml'), dataDir: join(dir, 'data'), env: { HOME: dir, ...c.env } });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const errors = error.issues.filter((i) => i.severity === 'error');
    return formatIssues(errors)
      .split('\n')
      .map((line) => line.replaceAll(`${dir}/`, '').replaceAll(dir, '<dir>'));
  }
  throw new Error(`${c.name}: the config loaded without errors`);
}

describe('broken configs', () => {
  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    expect(await errorsFor(c)).toEqual(c.expected);
  });
});
