import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditStore, createDataSource, openAuditStore } from '@atom-gov/audit';
import { type AtomGovConfig, loadConfig } from '@atom-gov/config';
import { buildComplianceReport, computeCosts, exportAuditEvents, parsePeriod } from './index.js';
import { FIXTURE_COSTS, fixtureEvents, writeFixtureConfig } from './report-fixtures.js';

describe('export, costs and the compliance report on PostgreSQL', () => {
  let admin: ReturnType<typeof createDataSource>;
  let database: string;
  let store: AuditStore;
  let config: AtomGovConfig;
  let dir: string;
  let written: number;

  beforeAll(async () => {
    const adminUrl = process.env.ATOM_GOV_TEST_PG_URL;
    if (!adminUrl) throw new Error('ATOM_GOV_TEST_PG_URL is not set: the Jest global setup starts PostgreSQL');
    database = `reports_${randomUUID().replaceAll('-', '')}`;
    admin = await createDataSource({ databaseUrl: adminUrl, sqlitePath: '' }).initialize();
    await admin.query(`CREATE DATABASE ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    const fx = writeFixtureConfig();
    dir = fx.dir;
    config = await loadConfig({ configPath: fx.configPath, dataDir: fx.dataDir, env: { HOME: dir } });
    store = await openAuditStore({ databaseUrl: url.toString(), sqlitePath: '' });
    const events = fixtureEvents(config.version);
    written = events.length;
    await Promise.all(events.map((e) => store.append(e)));
  });
  afterAll(async () => {
    await store.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('exports every event oldest first', async () => {
    const out = join(dir, 'all.jsonl');
    const r = await exportAuditEvents(store.stream({}, { batchSize: 7 }), { format: 'jsonl', output: out });
    expect(r.events).toBe(written);
    const times = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { time: string }).time);
    expect(times).toEqual([...times].sort());
    expect(times[0]).toBe('2018-01-01T00:00:00.000Z');
  });

  it('gives the same chargeback and report figures as on SQLite', async () => {
    const october = parsePeriod('2026-10');
    const costs = await computeCosts(
      store.stream({ since: october.since, until: october.until }),
      config.costs,
      october,
    );
    expect(costs.tenants.find((t) => t.tenant === 'acme')!.total).toBeCloseTo(FIXTURE_COSTS.acme, 9);
    expect(costs.tenants.find((t) => t.tenant === 'globex')!.total).toBeCloseTo(FIXTURE_COSTS.globex, 9);
    const report = await buildComplianceReport(store, {
      config,
      period: october,
      framework: 'gdpr',
      now: new Date('2026-11-25T09:00:00Z'),
    });
    expect(report.summary).toMatchObject({ calls: 19, denied: 4, governed: 1, allowed: 14, tenants: 2 });
    expect(report.approvals).toMatchObject({ total: 2, approved: 1, rejected: 1 });
    expect(report.integrity.status).toBe('verified');
    expect(report.retention).toMatchObject({ expiredEvents: 1, status: 'purge due' });
    expect(report.findings.find((f) => f.title === 'Audit retention')!.control).toBe('Art. 5(1)(e)');
  });
});
