// The policy forms added for the decision engine: access_hours, tools allow/deny lists, time.dates,
// rate-limit key combinations, and policy test files.
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ConfigError, loadConfig, loadPolicyTestFile } from './index.js';
import { writeTree } from './test-files.js';

const head = `atom_gov:\n  servers: [{ name: fs, command: node }]\n`;
const load = (text: string) => {
  const dir = writeTree({ 'c.yaml': text });
  return loadConfig({ configPath: join(dir, 'c.yaml'), dataDir: join(dir, 'data'), env: { HOME: dir } });
};
const issues = async (text: string) => {
  try {
    await load(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((i) => `${i.line}:${i.column} ${i.path} ${i.message}`);
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('policy forms for the decision engine', () => {
  it('normalises access_hours, tools lists, time.dates and per combinations', async () => {
    const config = await load(`${head}---
policy:
  name: office
  trigger: { mcp_server: fs, time: { dates: ['2026-12-24', '2026-12-20..2027-01-04'], timezone: Europe/Berlin } }
  action:
    access_hours: { days: [mon, fri], hours: '09:00-18:00', timezone: Europe/Berlin }
    tools: { allow: 'read_*', deny: [rm] }
    rate_limit: { limit: 10/minute, per: [user, tool] }
---
mcp_policy:
  fs:
    tools: { deny: [write_file] }
`);
    const office = config.rules.find((r) => r.name === 'office')!;
    expect(office.trigger.time).toEqual({
      days: [],
      startMinute: 0,
      endMinute: 1440,
      timezone: 'Europe/Berlin',
      dates: [
        { from: '2026-12-24', to: '2026-12-24' },
        { from: '2026-12-20', to: '2027-01-04' },
      ],
    });
    expect(office.actions).toEqual([
      expect.objectContaining({ type: 'rate_limit', per: ['user', 'tool'] }),
      {
        type: 'access_hours',
        window: { days: ['mon', 'fri'], startMinute: 540, endMinute: 1080, timezone: 'Europe/Berlin' },
      },
      { type: 'tool_visibility', allow: ['read_*'], deny: ['rm'] },
    ]);
    expect(config.rules.find((r) => r.name === 'fs')!.actions).toEqual([
      { type: 'tool_visibility', deny: ['write_file'] },
    ]);
  });

  it('reports bad dates, reversed ranges, empty tools blocks and unknown zones with positions', async () => {
    expect(
      await issues(`${head}policy:
  name: p
  trigger: { time: { dates: ['2026-02-30', '2027-01-04..2026-12-20'] } }
  action:
    tools: {}
    access_hours: { timezone: Mars/Olympus }
`),
    ).toEqual(['7:12 policy.action.tools tools needs allow: and/or deny:']);
    expect(
      await issues(`${head}policy:
  name: p
  trigger: { time: { dates: ['2026-02-30', '2027-01-04..2026-12-20'] } }
  action:
    access_hours: { timezone: Mars/Olympus }
`),
    ).toEqual([
      "5:30 policy.trigger.time.dates[0] invalid date in '2026-02-30'",
      "5:44 policy.trigger.time.dates[1] date range '2027-01-04..2026-12-20' ends before it starts",
      "7:31 policy.action.access_hours.timezone unknown time zone 'Mars/Olympus': expected an IANA name such as Europe/Paris or UTC",
    ]);
  });

  it('loads policy test files and reports their mistakes with positions', async () => {
    const dir = writeTree({
      'ok.yaml': `config: ../c.yaml\ncases:\n  - name: a\n    given: { server: fs, tool: x }\n    expect: { effect: allow }\n`,
      'bad.yaml': `cases:\n  - name: a\n    given: { server: fs }\n    expect: { effect: maybe }\n`,
    });
    const ok = await loadPolicyTestFile(join(dir, 'ok.yaml'));
    expect(ok.configPath).toBe(join(dir, '..', 'c.yaml'));
    expect(ok.cases).toEqual([{ name: 'a', line: 3, given: { server: 'fs', tool: 'x' }, expect: { effect: 'allow' } }]);
    await expect(loadPolicyTestFile(join(dir, 'bad.yaml'))).rejects.toMatchObject({
      issues: [expect.objectContaining({ line: 4, path: 'cases[0].expect.effect' })],
    });
    await expect(loadPolicyTestFile(join(dir, 'missing.yaml'))).rejects.toBeInstanceOf(ConfigError);
  });
});
