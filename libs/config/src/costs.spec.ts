import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import { ConfigError, loadConfig } from './index.js';
import { writeTree } from './test-files.js';

const SERVERS = `  servers:
    - name: perplexity_mcp
      command: /bin/true
`;

async function load(block: string) {
  const dir = writeTree({ 'gov.yaml': `atom_gov:\n${SERVERS}${block}` });
  return loadConfig({ configPath: join(dir, 'gov.yaml'), dataDir: join(dir, 'data'), env: { HOME: dir } });
}

describe('costs: and export: blocks', () => {
  it('normalises rates (tool -> server -> default fallback), budgets and recipients', async () => {
    const config = await load(`  costs:
    currency: EUR
    default: { per_call: 0.001 }
    servers:
      perplexity_mcp:
        per_call: 0.005
        per_second: 0.01
        tools:
          "research.*": { per_call: 0.05, per_unit: 0.002 }
    budgets:
      acme: 500/month
      globex: { amount: 20, period: day, alert_threshold: 80% }
  export:
    recipients: [keys/auditor.asc]
`);
    expect(config.costs.currency).toBe('EUR');
    expect(config.costs.default).toEqual({ perCall: 0.001, perSecond: 0, perKb: 0, perUnit: 0 });
    expect(config.costs.servers.perplexity_mcp).toEqual({
      rates: { perCall: 0.005, perSecond: 0.01, perKb: 0, perUnit: 0 },
      tools: { 'research.*': { perCall: 0.05, perSecond: 0.01, perKb: 0, perUnit: 0.002 } },
    });
    expect(config.costs.budgets).toEqual({
      acme: { amount: 500, period: 'month' },
      globex: { amount: 20, period: 'day', alertThreshold: 0.8 },
    });
    expect(config.export.recipients).toEqual([join(config.baseDir, 'keys/auditor.asc')]);
  });

  it('defaults to no costs and no recipients', async () => {
    const config = await load('');
    expect(config.costs).toEqual({
      currency: 'USD',
      default: { perCall: 0, perSecond: 0, perKb: 0, perUnit: 0 },
      servers: {},
      budgets: {},
    });
    expect(config.export.recipients).toEqual([]);
  });

  it('warns about costs for an unknown server and rejects a bad budget with its line', async () => {
    const warned = await load(`  costs:\n    servers:\n      perplexity_mpc: { per_call: 1 }\n`);
    expect(warned.warnings.map((w) => `${w.path} ${w.message} ${w.hint ?? ''}`)).toEqual([
      "atom_gov.costs.servers.perplexity_mpc costs for 'perplexity_mpc', which is not a configured server did you mean 'perplexity_mcp'?",
    ]);
    const error = await load(`  costs:\n    budgets:\n      acme: lots\n`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues[0]).toMatchObject({ line: 7, path: 'atom_gov.costs.budgets.acme' });
  });
});
