import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DataSource } from 'typeorm';
import {
  type AuditEventInput,
  AuditEventInvalidError,
  type AuditStore,
  type AuditStoreOptions,
  AuditStoreUnavailableError,
  createDataSource,
  migrations,
  openAuditStore,
} from './index.js';
import { scratchPostgres } from './audit-spec-fixtures.js';

/** One empty database per test, plus a way to make it unavailable (and available again) from outside the store. */
interface Backend {
  opts: AuditStoreOptions;
  /** Opens a second, independent connection to the same database. */
  connect(): Promise<DataSource>;
  makeUnavailable(): Promise<void>;
  makeAvailable(): Promise<void>;
  dispose(): Promise<void>;
}

async function sqliteBackend(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-'));
  const opts = { sqlitePath: join(dir, 'data', 'audit.sqlite'), timeoutMs: 300 };
  let locker: DataSource | undefined;
  const connect = async () => createDataSource(opts).initialize();
  const release = async () => {
    await locker?.query('ROLLBACK');
    await locker?.destroy();
    locker = undefined;
  };
  return {
    opts,
    connect,
    // Another process holding SQLite's write lock longer than the busy timeout: the store cannot commit.
    async makeUnavailable() {
      locker = await connect();
      await locker.query('BEGIN IMMEDIATE');
    },
    makeAvailable: release,
    async dispose() {
      await release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresBackend(): Promise<Backend> {
  const db = await scratchPostgres('audit');
  const opts = { ...db.opts, timeoutMs: 2000 };
  return {
    opts,
    connect: async () => createDataSource(opts).initialize(),
    // The database refuses connections and its open ones are cut, as when the server goes away.
    async makeUnavailable() {
      await db.admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
      await db.admin('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [db.name]);
    },
    async makeAvailable() {
      await db.admin(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    },
    dispose: () => db.dispose(),
  };
}

let counter = 0;
/** An event with every field set, distinct per call. */
function fullEvent(overrides: Partial<AuditEventInput> = {}): AuditEventInput & { id: string } {
  counter += 1;
  return {
    id: randomUUID(),
    time: new Date(Date.UTC(2026, 10, 24, 12, 0, 0, counter % 1000)),
    tenant: 'acme',
    user: 'alice@example.com',
    sessionId: `session-${counter}`,
    server: 'cloudflare_mcp',
    method: 'tools/call',
    target: 'dns_records_list',
    decision: 'allow',
    policy: 'default-allow',
    rules: ['rate-limit:60/min', 'pii:redact'],
    configVersion: 'a'.repeat(64),
    intent: 'list DNS records for example.com',
    outcome: 'ok',
    errorMessage: 'none',
    durationMs: 42,
    requestBytes: 512,
    responseBytes: 2048,
    argsSummary: '{"zone":"example.com"}',
    resultSummary: '3 records',
    operationId: `op-${counter}`,
    ...overrides,
  };
}

/** Only the required fields. */
function minimalEvent(overrides: Partial<AuditEventInput> = {}): AuditEventInput {
  return {
    time: new Date(),
    tenant: 'acme',
    user: 'bob',
    server: 'memory',
    method: 'tools/list',
    decision: 'allow',
    configVersion: 'v1',
    outcome: 'ok',
    durationMs: 1,
    requestBytes: 10,
    responseBytes: 20,
    ...overrides,
  };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** An event as stored: the input plus its place in the tenant's chain. */
function chained(event: AuditEventInput, seq: number): AuditEventInput & { seq: number } {
  return {
    ...event,
    seq,
    hash: expect.stringMatching(HEX64) as unknown as string,
    prevHash: (seq === 1 ? '0'.repeat(64) : expect.stringMatching(HEX64)) as string,
  } as AuditEventInput & { seq: number };
}

const backends: Array<[string, () => Promise<Backend>]> = [
  ['SQLite', sqliteBackend],
  ['PostgreSQL', postgresBackend],
];

describe.each(backends)('audit store on %s', (_name, makeBackend) => {
  let backend: Backend;
  const open: AuditStore[] = [];
  const openStore = async (): Promise<AuditStore> => {
    const store = await openAuditStore(backend.opts);
    open.push(store);
    return store;
  };

  beforeEach(async () => {
    backend = await makeBackend();
  });

  afterEach(async () => {
    await Promise.allSettled(open.splice(0).map((s) => s.close()));
    await backend.dispose();
  });

  it('migrates an empty database and reopens without migrating again', async () => {
    const store = await openStore();
    await store.ping();
    await store.close();
    await (await openStore()).close();

    const db = await backend.connect();
    try {
      const applied = (await db.query('SELECT name FROM atom_gov_migrations')) as Array<{ name: string }>;
      // Every migration exactly once, in order, however often the store was opened.
      expect(applied.map((m) => m.name)).toEqual(migrations.map((M) => new M().name));
      expect(applied.map((m) => m.name)).toContain('CreateAuditEvents1764028800000');
      const runner = db.createQueryRunner();
      const table = await runner.getTable('audit_events');
      await runner.release();
      expect(table?.columns.map((c) => c.name).sort()).toEqual(
        [
          'id',
          'seq',
          'time',
          'tenant',
          'user_name',
          'session_id',
          'server',
          'method',
          'target',
          'decision',
          'policy',
          'rules',
          'config_version',
          'intent',
          'outcome',
          'error_message',
          'duration_ms',
          'request_bytes',
          'response_bytes',
          'args_summary',
          'result_summary',
          'operation_id',
          'hash',
          'prev_hash',
          'notes',
        ].sort(),
      );
      expect(table?.indices.map((i) => i.name).sort()).toEqual([
        'idx_audit_events_operation',
        'idx_audit_events_server_time',
        'idx_audit_events_tenant_time',
        'idx_audit_events_time',
        'uq_audit_events_tenant_seq',
      ]);
    } finally {
      await db.destroy();
    }
  });

  it('lets several stores open a new database at once', async () => {
    const stores = await Promise.all([1, 2, 3, 4].map(() => openStore()));
    await Promise.all(stores.map((store) => store.append(fullEvent())));
    expect(await stores[0]?.query({})).toHaveLength(4);
  });

  it('stores every field and reads it back', async () => {
    const store = await openStore();
    const event = fullEvent({ time: new Date('2026-11-24T08:15:30.123Z') });
    await store.append(event);
    expect(await store.query({})).toEqual([chained(event, 1)]);

    const sparse = minimalEvent({ time: new Date('2026-11-24T08:15:31.000Z') });
    await store.append(sparse);
    const [newest] = await store.query({ limit: 1 });
    expect(newest).toEqual({ ...chained(sparse, 2), id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(Object.keys(newest ?? {})).not.toContain('target');
  });

  it('round-trips text that array and SQL literals treat specially', async () => {
    const store = await openStore();
    const tricky = "a\"b\\c,{d} 'e' ü 🙂\n\ttab";
    const event = fullEvent({
      target: 'NULL',
      argsSummary: tricky,
      rules: ['{x}', 'y,z', '"q"'],
      intent: '',
      notes: ['pii redacted: email', tricky],
    });
    await store.append(event);
    expect(await store.query({})).toEqual([chained(event, 1)]);
  });

  it('keeps characters PostgreSQL text cannot hold from failing the batch', async () => {
    const store = await openStore();
    const event = fullEvent({ argsSummary: 'a\u0000b' });
    await Promise.all([store.append(event), store.append(fullEvent())]);
    const stored = await store.query({ limit: 10 });
    expect(stored).toHaveLength(2);
    expect(stored.find((e) => e.id === event.id)?.argsSummary).toBe('a\uFFFDb');
  });

  it('stores an id once however often it is appended', async () => {
    const store = await openStore();
    const event = fullEvent();
    await store.append(event);
    await store.append({ ...event, outcome: 'error' });
    // Duplicates inside one batch too.
    await Promise.all([
      store.append(event),
      store.append(event),
      store.append({ ...event, id: event.id.toUpperCase() }),
    ]);
    const stored = await store.query({});
    // ... and it took one seq: retries never leave a gap in the chain.
    expect(stored).toEqual([chained(event, 1)]);
    await store.append(fullEvent());
    expect((await store.query({ limit: 1 }))[0]?.seq).toBe(2);
  });

  it('makes 1,000 concurrent appends durable in a few transactions', async () => {
    const store = await openStore();
    const events = Array.from({ length: 1000 }, () => fullEvent());
    await Promise.all(events.map((e) => store.append(e)));
    const stats = store.stats();
    expect(stats.committed).toBe(1000);
    expect(stats.batches).toBeLessThanOrEqual(5);
    expect(stats.largestBatch).toBeGreaterThanOrEqual(200);
    await store.close();

    // Read back through a fresh store: the events are in the database, not in a buffer.
    const reopened = await openStore();
    const stored = await reopened.query({ limit: 5000 });
    expect(new Set(stored.map((e) => e.id))).toEqual(new Set(events.map((e) => e.id)));
  });

  it('filters by server, tenant, user, decision and time, newest first, up to a limit', async () => {
    const store = await openStore();
    const at = (minute: number) => new Date(Date.UTC(2026, 10, 24, 10, minute));
    const events = [
      fullEvent({ time: at(0), server: 'github', tenant: 'acme', user: 'alice', decision: 'allow' }),
      fullEvent({ time: at(1), server: 'github', tenant: 'acme', user: 'bob', decision: 'deny' }),
      fullEvent({ time: at(2), server: 'slack', tenant: 'acme', user: 'alice', decision: 'governed' }),
      fullEvent({ time: at(3), server: 'github', tenant: 'globex', user: 'carol', decision: 'allow' }),
      fullEvent({ time: at(4), server: 'slack', tenant: 'globex', user: 'alice', decision: 'error' }),
    ];
    await Promise.all(events.map((e) => store.append(e)));
    const times = async (q: Parameters<AuditStore['query']>[0]) =>
      (await store.query(q)).map((e) => e.time.getUTCMinutes());

    expect(await times({})).toEqual([4, 3, 2, 1, 0]);
    expect(await times({ server: 'github' })).toEqual([3, 1, 0]);
    expect(await times({ tenant: 'globex' })).toEqual([4, 3]);
    expect(await times({ user: 'alice' })).toEqual([4, 2, 0]);
    expect(await times({ decision: 'allow' })).toEqual([3, 0]);
    expect(await times({ since: at(2) })).toEqual([4, 3, 2]);
    expect(await times({ since: at(1), until: at(3) })).toEqual([2, 1]);
    expect(await times({ server: 'slack', user: 'alice', tenant: 'acme' })).toEqual([2]);
    expect(await times({ limit: 2 })).toEqual([4, 3]);
    expect(await times({ server: 'nope' })).toEqual([]);
    await expect(store.query({ limit: 0 })).rejects.toThrow(/limit must be an integer from 1/);
  });

  it('flushes pending appends on close and refuses appends afterwards', async () => {
    const store = await openStore();
    const events = Array.from({ length: 50 }, () => fullEvent());
    const appended = events.map((e) => store.append(e));
    await store.close();
    await expect(Promise.all(appended)).resolves.toHaveLength(50);
    await expect(store.append(fullEvent())).rejects.toThrow(/audit store unavailable: the store is closed/);

    const reopened = await openStore();
    expect(await reopened.query({})).toHaveLength(50);
  });

  it('rejects an invalid event alone, before it reaches the database', async () => {
    const store = await openStore();
    const good = fullEvent();
    const results = await Promise.allSettled([
      store.append(good),
      store.append(fullEvent({ id: 'not-a-uuid' })),
      store.append(minimalEvent({ decision: 'maybe' as never })),
      store.append(minimalEvent({ requestBytes: -1 })),
      store.append(minimalEvent({ time: new Date('nope') })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
    for (const r of results.slice(1)) {
      expect(r.status === 'rejected' && r.reason).toBeInstanceOf(AuditEventInvalidError);
    }
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/id must be a UUID, got "not-a-uuid"/);
    expect(await store.query({})).toEqual([chained(good, 1)]);
  });

  it('rejects every waiting append with a clear error while the database is unavailable, and recovers', async () => {
    const store = await openStore();
    await store.append(fullEvent());
    await backend.makeUnavailable();

    const results = await Promise.allSettled([store.append(fullEvent()), store.append(fullEvent())]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason as Error;
      expect(reason).toBeInstanceOf(AuditStoreUnavailableError);
      expect(reason.message).toMatch(/^audit store unavailable: writing to (SQLite|PostgreSQL) at .+ failed: .+/);
    }
    expect(store.stats().failedBatches).toBeGreaterThanOrEqual(1);
    // SQLite in WAL mode still serves reads while another process holds the write lock.
    if (store.driver === 'postgres') await expect(store.ping()).rejects.toBeInstanceOf(AuditStoreUnavailableError);

    await backend.makeAvailable();
    const after = fullEvent();
    await store.append(after);
    expect((await store.query({})).map((e) => e.id)).toContain(after.id);
  });
});

describe('audit store that cannot open', () => {
  it('names the PostgreSQL server it could not reach, without its password', async () => {
    const attempt = openAuditStore({ databaseUrl: 'postgres://atom:s3cret@127.0.0.1:1/audit', sqlitePath: '' });
    await expect(attempt).rejects.toBeInstanceOf(AuditStoreUnavailableError);
    await expect(attempt).rejects.toThrow(
      /^audit store unavailable: cannot open PostgreSQL at postgres:\/\/atom:\*\*\*@127\.0\.0\.1:1\/audit: .*ECONNREFUSED/,
    );
  });

  it('names a SQLite path it cannot create', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'atom-gov-audit-'));
    try {
      writeFileSync(join(dir, 'not-a-dir'), '');
      const sqlitePath = join(dir, 'not-a-dir', 'audit.sqlite');
      const attempt = openAuditStore({ sqlitePath });
      await expect(attempt).rejects.toBeInstanceOf(AuditStoreUnavailableError);
      await expect(attempt).rejects.toThrow(`audit store unavailable: cannot open SQLite at ${sqlitePath}: E`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a database URL that is not PostgreSQL', async () => {
    await expect(openAuditStore({ databaseUrl: 'mysql://root:pw@localhost/db', sqlitePath: '' })).rejects.toThrow(
      /database\.url must be a PostgreSQL URL .* got mysql:\/\/root:\*\*\*@localhost\/db/,
    );
  });
});
