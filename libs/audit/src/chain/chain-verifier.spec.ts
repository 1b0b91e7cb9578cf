import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource } from 'typeorm';
import {
  type AuditEventInput,
  type AuditStore,
  type AuditStoreOptions,
  type ChainProblemKind,
  chainHash,
  createDataSource,
  loadPublicKey,
  openAuditStore,
  type VerifyOptions,
  type VerifyReport,
} from '../index.js';
import { scratchPostgres } from '../audit-spec-fixtures.js';
import { openAuditPrivacy } from '../privacy/audit-privacy.js';
import { type RawChainRow, recordFromRaw } from './chain-record.js';
import { numbered, sqliteTime } from './chain-sql.js';

/** A fresh database per test and a second, independent connection to tamper with it as an attacker would. */
interface Backend {
  opts: AuditStoreOptions;
  pg: boolean;
  dispose(): Promise<void>;
}

async function sqliteBackend(dir: string): Promise<Backend> {
  return { opts: { sqlitePath: join(dir, 'audit.sqlite') }, pg: false, dispose: async () => undefined };
}

async function postgresBackend(): Promise<Backend> {
  const db = await scratchPostgres('chain');
  return { opts: db.opts, pg: true, dispose: () => db.dispose() };
}

function event(tenant: string, i: number): AuditEventInput {
  return {
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 10, 24, 12, 0, i)),
    tenant,
    user: `user-${i}`,
    server: 'cloudflare_mcp',
    method: 'tools/call',
    target: 'dns_records_list',
    decision: 'allow',
    rules: ['rate-limit'],
    configVersion: 'v1',
    outcome: 'ok',
    durationMs: i,
    requestBytes: 100 + i,
    responseBytes: 200 + i,
    argsSummary: `{"zone":"example-${i}.com"}`,
  };
}

const backends: Array<[string, (dir: string) => Promise<Backend>]> = [
  ['SQLite', sqliteBackend],
  ['PostgreSQL', postgresBackend],
];

describe.each(backends)('audit chain verification on %s', (_name, makeBackend) => {
  let dir: string;
  let backend: Backend;
  let store: AuditStore;
  let db: DataSource;

  /** Raw SQL as the attacker types it (`?` placeholders on both databases). */
  const sql = async <T = unknown>(text: string, params: unknown[] = []): Promise<T[]> =>
    (await db.query(backend.pg ? numbered(text) : text, params)) as T[];
  const rowAt = async (seq: number): Promise<RawChainRow> => {
    const [row] = await sql<RawChainRow>("SELECT * FROM audit_events WHERE tenant = 'acme' AND seq = ?", [seq]);
    if (!row) throw new Error(`no event at seq ${seq}`);
    return row;
  };
  /** Moves events seq >= from by `by` without tripping the unique (tenant, seq) index on the way. */
  const renumber = async (from: number, by: number) => {
    await sql("UPDATE audit_events SET seq = -seq WHERE tenant = 'acme' AND seq >= ?", [from]);
    await sql("UPDATE audit_events SET seq = -seq + ? WHERE tenant = 'acme' AND seq < 0", [by]);
  };
  /**
   * Every verification runs twice: through the range check with ranges of 3 seqs (borders after seq 3, 6 and 9,
   * so each tampering below sits at or next to one) and through the sequential walk; both must report the same.
   */
  const verify = async (opts: VerifyOptions = {}): Promise<VerifyReport> => {
    const ranged = await store.verify({ ...opts, rangeSize: 3 });
    const walked = await store.verify({ ...opts, sequential: true });
    const same = (r: VerifyReport) => ({
      ...r,
      eventsPerSecond: 0,
      tenants: r.tenants.map((t) => ({ ...t, checkedBy: '' })),
    });
    expect(same(ranged)).toEqual(same(walked));
    expect(walked.tenants.every((t) => t.checkedBy === 'walk')).toBe(true);
    // Only a chain intact from its start to its last event passes the range check; anything else is walked.
    for (const t of ranged.tenants) {
      const walkProblems = t.problems.filter((p) => p.kind !== 'bad signature');
      if (walkProblems.length === 0 && t.events > 0) expect(t.checkedBy).toBe('ranges');
    }
    return ranged;
  };
  const acme = (report: VerifyReport) => report.tenants.find((t) => t.tenant === 'acme')!;
  const kinds = (report: VerifyReport): ChainProblemKind[] => [...new Set(acme(report).problems.map((p) => p.kind))];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-chain-'));
    backend = await makeBackend(dir);
    store = await openAuditStore({
      ...backend.opts,
      checkpoints: { signingKeyPath: join(dir, 'keys', 'audit-signing.pem'), idleMs: 60_000 },
    });
    // One batch per tenant: seq follows the order of the appends.
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.append(event('acme', i + 1))));
    await Promise.all(Array.from({ length: 3 }, (_, i) => store.append(event('globex', i + 1))));
    await store.checkpoint();
    db = await createDataSource(backend.opts).initialize();
  });

  afterEach(async () => {
    await db.destroy();
    await store.close();
    await backend.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('verifies an untouched chain and keeps the signing key private', async () => {
    const report = await verify();
    expect(report.ok).toBe(true);
    expect(report.tenants.map((t) => [t.tenant, t.events, t.startSeq, t.lastSeq, t.lastSignedSeq])).toEqual([
      ['acme', 10, 1, 10, 10],
      ['globex', 3, 1, 3, 3],
    ]);
    expect(statSync(join(dir, 'keys', 'audit-signing.pem')).mode & 0o777).toBe(0o600);
    const seqs = await sql<{ seq: string | number }>("SELECT seq FROM audit_events WHERE tenant = 'acme' ORDER BY seq");
    expect(seqs.map((r) => Number(r.seq))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('verifies text that JSON escapes, and replaces what the database cannot store before hashing', async () => {
    const tricky = 'q"b\\ \u0001\u001f\b\f\n\r\t ü 🙂 \u2028 \u007f </x> \u0000 lone \ud800 end';
    await store.append({
      ...event('acme', 11),
      argsSummary: tricky,
      resultSummary: '',
      rules: [tricky],
      notes: ['pii redacted: email', tricky],
      intent: 'ünïcödé',
    });
    const report = await verify();
    expect(acme(report)).toMatchObject({ events: 11, problems: [] });
    const [stored] = await store.query({ tenant: 'acme', limit: 1 });
    expect(stored?.argsSummary).toBe(tricky.replace('\u0000', '\uFFFD').replace('\ud800', '\uFFFD'));
  });

  // Ranges of 3: borders between seq 3|4, 6|7 and 9|10. Each tamper sits on a border.
  it.each([
    [
      'the last event of a range changed',
      "UPDATE audit_events SET outcome = 'error' WHERE tenant = 'acme' AND seq = 3",
      { kind: 'modified', seq: 3 },
    ],
    [
      'the first event of a range deleted',
      "DELETE FROM audit_events WHERE tenant = 'acme' AND seq = 4",
      { kind: 'deleted', seq: 4, toSeq: 4 },
    ],
    ['the events on both sides of a border swapped', 'swap 6 7', { kind: 'reordered', seq: 6, toSeq: 7 }],
    ['the numbering skipping right after a border', 'renumber 7 3', { kind: 'gap', seq: 7, toSeq: 9 }],
    ['the last range emptied from its end (tail)', 'truncate 9', { kind: 'truncated tail', seq: 10, toSeq: 10 }],
  ] as const)('finds %s at a range border, reported as the walk reports it', async (_what, tamper, expected) => {
    if (tamper.startsWith('swap')) {
      await sql("UPDATE audit_events SET seq = -1 WHERE tenant = 'acme' AND seq = 6");
      await sql("UPDATE audit_events SET seq = 6 WHERE tenant = 'acme' AND seq = 7");
      await sql("UPDATE audit_events SET seq = 7 WHERE tenant = 'acme' AND seq = -1");
    } else if (tamper.startsWith('renumber')) {
      await renumber(7, 3);
    } else if (tamper.startsWith('truncate')) {
      const last = await rowAt(9);
      await sql("DELETE FROM audit_events WHERE tenant = 'acme' AND seq > 9");
      await sql("UPDATE audit_chain_heads SET seq = 9, hash = ? WHERE tenant = 'acme'", [last.hash]);
    } else {
      await sql(tamper);
    }
    const report = await verify();
    expect(acme(report).problems[0]).toMatchObject(expected);
    expect(acme(report).checkedBy).toBe(expected.kind === 'truncated tail' ? 'ranges' : 'walk');
    expect(report.tenants.find((t) => t.tenant === 'globex')).toMatchObject({ problems: [], checkedBy: 'ranges' });
  });

  it('reports a changed field as modified', async () => {
    await sql("UPDATE audit_events SET outcome = 'error' WHERE tenant = 'acme' AND seq = 5");
    const report = await verify();
    expect(report.ok).toBe(false);
    expect(kinds(report)).toEqual(['modified']);
    expect(acme(report).problems[0]).toMatchObject({ kind: 'modified', seq: 5 });
    expect(report.tenants.find((t) => t.tenant === 'globex')?.problems).toEqual([]);
  });

  it('reports a consistent rewrite (hashes recomputed up to the head) as modified through the checkpoint', async () => {
    await sql("UPDATE audit_events SET decision = 'deny' WHERE tenant = 'acme' AND seq = 3");
    let prev = (await rowAt(2)).hash!;
    for (let seq = 3; seq <= 10; seq += 1) {
      const row = await rowAt(seq);
      const hash = chainHash(prev, recordFromRaw(row));
      await sql("UPDATE audit_events SET hash = ?, prev_hash = ? WHERE tenant = 'acme' AND seq = ?", [hash, prev, seq]);
      prev = hash;
    }
    await sql("UPDATE audit_chain_heads SET hash = ? WHERE tenant = 'acme'", [prev]);
    const report = await verify();
    expect(kinds(report)).toEqual(['modified']);
    expect(acme(report).problems[0]?.message).toMatch(/differs from the checkpoint/);
  });

  it('reports a removed event as deleted', async () => {
    await sql("DELETE FROM audit_events WHERE tenant = 'acme' AND seq = 5");
    const report = await verify();
    expect(kinds(report)).toEqual(['deleted']);
    expect(acme(report).problems[0]).toMatchObject({ kind: 'deleted', seq: 5, toSeq: 5 });
  });

  it('reports a forged event slipped into the middle as inserted', async () => {
    await renumber(5, 1);
    const before = await rowAt(4);
    const forged = { ...(await rowAt(6)), id: randomUUID(), user_name: 'mallory', prev_hash: before.hash };
    const hash = chainHash(before.hash!, recordFromRaw(forged));
    const columns = Object.keys(forged).filter((c) => c !== 'hash' && c !== 'seq');
    const values = columns.map((c) => forged[c as keyof RawChainRow]);
    await sql(
      `INSERT INTO audit_events (${columns.join(', ')}, seq, hash) VALUES (${columns.map(() => '?').join(', ')}, ?, ?)`,
      [...values.map((v) => (v instanceof Date && !backend.pg ? sqliteTime(v) : v)), 5, hash],
    );
    await sql("UPDATE audit_chain_heads SET seq = 11 WHERE tenant = 'acme'");
    const report = await verify();
    expect(kinds(report)).toEqual(['inserted']);
    expect(acme(report).problems[0]).toMatchObject({ kind: 'inserted', seq: 5 });
  });

  it('reports two events that swapped places as reordered', async () => {
    await sql("UPDATE audit_events SET seq = -1 WHERE tenant = 'acme' AND seq = 5");
    await sql("UPDATE audit_events SET seq = 5 WHERE tenant = 'acme' AND seq = 6");
    await sql("UPDATE audit_events SET seq = 6 WHERE tenant = 'acme' AND seq = -1");
    const report = await verify();
    expect(kinds(report)).toEqual(['reordered']);
    expect(acme(report).problems).toHaveLength(1);
    expect(acme(report).problems[0]).toMatchObject({ kind: 'reordered', seq: 5, toSeq: 6 });
  });

  it('reports the newest events removed (and the head moved back) as a truncated tail', async () => {
    const last = await rowAt(8);
    await sql("DELETE FROM audit_events WHERE tenant = 'acme' AND seq > 8");
    await sql("UPDATE audit_chain_heads SET seq = 8, hash = ? WHERE tenant = 'acme'", [last.hash]);
    const report = await verify();
    expect(kinds(report)).toEqual(['truncated tail']);
    expect(acme(report).problems[0]).toMatchObject({ kind: 'truncated tail', seq: 9, toSeq: 10 });
  });

  it('reports numbering that skips with intact links as a gap', async () => {
    await renumber(6, 5);
    const report = await verify();
    expect(kinds(report)).toEqual(['gap']);
    expect(acme(report).problems[0]).toMatchObject({ kind: 'gap', seq: 6, toSeq: 10 });
  });

  it('reports an altered checkpoint, or one checked against another key, as a bad signature', async () => {
    await sql("UPDATE audit_checkpoints SET seq = 9 WHERE tenant = 'acme'");
    const report = await verify();
    expect(kinds(report)).toEqual(['bad signature']);

    const other = join(dir, 'other.pem');
    writeFileSync(other, generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const foreign = await verify({ publicKey: loadPublicKey(other), tenant: 'globex' });
    expect(foreign.tenants.map((t) => [t.tenant, t.problems.map((p) => p.kind)])).toEqual([
      ['globex', ['bad signature']],
    ]);
  });

  it('purges a prefix, leaves a signed retention checkpoint, and what remains verifies', async () => {
    const results = await store.purge(new Date(Date.UTC(2026, 10, 24, 12, 0, 4)));
    expect(results.map((r) => [r.tenant, r.deleted, r.startSeq])).toEqual([
      ['acme', 3, 4],
      ['globex', 3, 4],
    ]);
    const report = await verify();
    expect(report.ok).toBe(true);
    expect(acme(report)).toMatchObject({ events: 7, startSeq: 4, lastSeq: 10 });
    // The purged prefix cannot be extended silently: deleting one more old event is still caught.
    await sql("DELETE FROM audit_events WHERE tenant = 'acme' AND seq = 4");
    expect(kinds(await verify())).toEqual(['deleted']);
  });
});

describe('audit chain with PII redaction and encryption', () => {
  it('hashes what is stored (redacted, sealed), and a crypto-shredded tenant still verifies', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-chain-privacy-'));
    const sqlitePath = join(dir, 'audit.sqlite');
    const privacy = await openAuditPrivacy({ sqlitePath, dataDir: dir, encrypt: true, piiRedaction: true });
    const store = await openAuditStore({
      sqlitePath,
      ...(privacy.keyring ? { cipher: privacy.keyring } : {}),
      ...(privacy.redactor ? { redactor: privacy.redactor } : {}),
      checkpoints: { signingKeyPath: join(dir, 'key.pem') },
    });
    try {
      const input = { ...event('acme', 1), argsSummary: '{"to":"jane.doe@example.com"}', notes: ['shadow mode'] };
      await store.append(input);
      await store.append(event('acme', 2));
      const db = await createDataSource({ sqlitePath }).initialize();
      const [row] = (await db.query('SELECT args_summary, notes FROM audit_events WHERE id = ?', [input.id])) as Array<{
        args_summary: string;
        notes: string;
      }>;
      await db.destroy();
      expect(row?.args_summary).toMatch(/^enc:v1:/);
      expect(row?.args_summary).not.toContain('jane.doe');
      expect(JSON.parse(row?.notes ?? '[]')).toEqual(['shadow mode', 'pii redacted: email']);
      expect((await store.verify()).ok).toBe(true);

      await privacy.keyring?.forget('acme');
      expect((await store.verify()).ok).toBe(true);
    } finally {
      await store.close();
      await privacy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('audit store side outputs', () => {
  it('mirrors the chain to the trail file and checkpoints to the mirror file, in order, and checkpoints when idle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-trail-'));
    try {
      const trailFile = join(dir, 'trails', 'mcp_audit.log');
      const mirrorFile = join(dir, 'checkpoints.jsonl');
      let idle: (n: number) => void = () => undefined;
      const idleCheckpoint = new Promise<number>((resolve) => (idle = resolve));
      const store = await openAuditStore({
        sqlitePath: join(dir, 'audit.sqlite'),
        trailFile,
        checkpoints: {
          signingKeyPath: join(dir, 'key.pem'),
          mirrorFile,
          idleMs: 50,
          onCheckpoint: (cps) => {
            if (cps.some((c) => c.reason === 'idle')) idle(cps.length);
          },
        },
      });
      const events = Array.from({ length: 25 }, (_, i) => event(i % 2 ? 'acme' : 'globex', i));
      await Promise.all(events.map((e) => store.append(e)));
      await store.append(events[0]!); // a retry is not mirrored twice
      expect(await idleCheckpoint).toBe(2);
      await store.close();

      const lines = readFileSync(trailFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.map((l) => l.id)).toEqual(events.map((e) => e.id));
      expect(lines.filter((l) => l.tenant === 'acme').map((l) => l.seq)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      // Each line links to the one before it in its tenant's chain.
      const acmeLines = lines.filter((l) => l.tenant === 'acme');
      for (let i = 1; i < acmeLines.length; i += 1) expect(acmeLines[i]?.prevHash).toBe(acmeLines[i - 1]?.hash);

      const mirrored = readFileSync(mirrorFile, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { reason: string });
      expect(mirrored.map((c) => c.reason)).toEqual(['idle', 'idle']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
