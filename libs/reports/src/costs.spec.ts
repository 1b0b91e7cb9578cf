import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { type AuditStore, openAuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';
import { parse } from 'csv-parse/sync';
import { computeCosts, parsePeriod, ratesFor, renderCosts } from './index.js';
import { FIXTURE_COSTS, fixtureEvents, writeFixtureConfig } from './report-fixtures.js';

describe('cost chargeback over a real SQLite audit trail', () => {
  let store: AuditStore;
  let config: AtomGovConfig;
  let dir: string;
  beforeAll(async () => {
    const fx = writeFixtureConfig();
    dir = fx.dir;
    config = await loadConfig({ configPath: fx.configPath, dataDir: fx.dataDir, env: { HOME: dir } });
    store = await openAuditStore({ sqlitePath: config.database.sqlitePath });
    await Promise.all(fixtureEvents(config.version).map((e) => store.append(e)));
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const october = parsePeriod('2026-10');

  it('prices executed calls by tool, server and default rates, per tenant, with budgets', async () => {
    const r = await computeCosts(store.stream({ since: october.since, until: october.until }), config.costs, october);
    const acme = r.tenants.find((t) => t.tenant === 'acme')!;
    const globex = r.tenants.find((t) => t.tenant === 'globex')!;
    expect(acme.total).toBeCloseTo(FIXTURE_COSTS.acme, 9);
    expect(globex.total).toBeCloseTo(FIXTURE_COSTS.globex, 9);
    // Denied calls and the approval workflow's own records cost nothing and are not calls.
    expect(acme.calls).toBe(13);
    expect(globex.calls).toBe(2);
    expect(acme.budget).toMatchObject({ amount: 1, period: 'month', status: 'over' });
    expect(globex.budget).toMatchObject({ amount: 100, status: 'ok' });
    const search = r.lines.find((l) => l.tenant === 'acme' && l.tool === 'search')!;
    expect(search).toMatchObject({ calls: 10, seconds: 20, kilobytes: 20, units: 50 });
    expect(search.unitCost).toBeCloseTo(0.1, 9);
    const deploy = r.lines.find((l) => l.tool === 'workers.deploy')!;
    expect(deploy).toMatchObject({ calls: 1, total: 0 });
  });

  it('renders the seed example as a table, and as CSV and JSON', async () => {
    const month = parsePeriod('2026-10');
    const filter = { server: 'perplexity_mcp' };
    const r = await computeCosts(
      store.stream({ ...filter, since: month.since, until: month.until }),
      config.costs,
      month,
      filter,
    );
    const table = renderCosts(r, 'table');
    expect(table).toContain('Costs for 2026-10-01 to 2026-10-31 (2026-10), server perplexity_mcp, in USD');
    expect(table).toMatch(/acme\s+perplexity_mcp\s+search\s+10\s+20\.0\s+20\.0\s+50\s+10\.2200/);
    expect(table).toMatch(/acme\s+12\s+11\.4200\s+1\/month\s+1142\.0%\s+OVER/);
    const rows = parse(renderCosts(r, 'csv'), { columns: true }) as Array<Record<string, string>>;
    expect(rows.find((x) => x.tool === 'deep_research')).toMatchObject({
      tenant: 'acme',
      calls: '2',
      total: '1.200000',
    });
    expect(JSON.parse(renderCosts(r, 'json'))).toMatchObject({ currency: 'USD', calls: 14 });
  });

  it('uses the exact tool, then globs, then the server, then the default', () => {
    const model = {
      ...config.costs,
      servers: {
        s: {
          rates: { perCall: 1, perSecond: 0, perKb: 0, perUnit: 0 },
          tools: {
            'read_*': { perCall: 2, perSecond: 0, perKb: 0, perUnit: 0 },
            read_file: { perCall: 3, perSecond: 0, perKb: 0, perUnit: 0 },
          },
        },
      },
    };
    expect(ratesFor(model, 's', 'read_file').perCall).toBe(3);
    expect(ratesFor(model, 's', 'read_dir').perCall).toBe(2);
    expect(ratesFor(model, 's', 'write').perCall).toBe(1);
    expect(ratesFor(model, 'other', 'x')).toEqual(model.default);
  });

  it('reads day, week and month as the current UTC period and rejects anything else', () => {
    const now = new Date('2026-11-25T10:00:00Z'); // a Wednesday
    expect(parsePeriod('day', now).since.toISOString()).toBe('2026-11-25T00:00:00.000Z');
    expect(parsePeriod('week', now).since.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    expect(parsePeriod('month', now)).toMatchObject({ kind: 'month', until: now });
    expect(parsePeriod('2026-02').until.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(() => parsePeriod('quarter')).toThrow(/period 'quarter' is not one of: day, week, month/);
    expect(() => parsePeriod('2026-02-30')).toThrow(/is not one of/);
  });
});
