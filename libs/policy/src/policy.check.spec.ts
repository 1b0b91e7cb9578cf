import { describe, expect, it } from '@jest/globals';
import { checkPolicySemantics } from './index.js';
import { loadTree } from './test-config.js';

describe('semantic policy check', () => {
  it('warns about unknown tenants, shadowed, unreachable, contradictory and remote local_only rules', async () => {
    const config = await loadTree({
      'mcp-governance.yaml': `
atom_gov:
  gateway:
    api_keys: [{ sha256: '${'a'.repeat(64)}', tenant: acme, user: alice }]
  servers:
    - { name: fs, command: node }
    - { name: remote, url: 'https://mcp.example.com/mcp', local_only: true }
  policy_files: [p.yaml]
`,
      'p.yaml': [
        `policy: { name: fs_off, trigger: { mcp_server: fs }, action: { deny: true } }`,
        `policy: { name: fs_limit, trigger: { mcp_server: fs, operation: read_file }, action: { rate_limit: { limit: 5/second } } }`,
        `policy: { name: globex_only, trigger: { mcp_server: all, tenants: [globex] }, action: { deny: true } }`,
        `policy: { name: old_freeze, trigger: { mcp_server: remote, time: { dates: ['2020-12-20..2021-01-04'] } }, action: { deny: true } }`,
        `policy: { name: allow_write, trigger: { mcp_server: remote }, action: { tools: { allow: [write_file] } } }`,
        `policy: { name: deny_write, trigger: { mcp_server: all }, action: { tools: { deny: [write_file] } } }`,
      ]
        .map((d) => `---\n${d}\n`)
        .join(''),
    });
    const messages = checkPolicySemantics(config, new Date('2026-06-01T00:00:00Z')).map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        "rule globex_only names tenant 'globex', which no api key, the anonymous identity or tenants.quotas has",
        'server remote is local_only but its url https://mcp.example.com/mcp is remote: every call will be denied',
        'rule old_freeze is unreachable: its dates ended on 2021-01-04',
        expect.stringMatching(
          /^rule fs_limit is shadowed by fs_off \(.*p\.yaml:2\): every call it matches is denied first$/,
        ),
        expect.stringMatching(
          /^contradictory rules: allow_write allows 'write_file' but deny_write \(.*\) deny-lists it$/,
        ),
      ]),
    );
    expect(messages).toHaveLength(5);
  });

  it('is quiet for the example configuration', async () => {
    const config = await loadTree({
      'mcp-governance.yaml': `
atom_gov:
  servers: [{ name: fs, command: node }]
policy: { name: fs_limit, trigger: { mcp_server: fs, operation: read_file }, action: { rate_limit: { limit: 5/second } } }
`,
    });
    expect(checkPolicySemantics(config)).toEqual([]);
  });
});
