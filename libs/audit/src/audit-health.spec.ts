import { describe, expect, it } from '@jest/globals';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditEvent as event, holdSqliteWriteLock, perTestScratch } from './audit-spec-fixtures.js';
import { openAuditStore, withAuditSpool } from './index.js';

const { tempDir, track, defer } = perTestScratch();

/** Another connection holds SQLite's write lock longer than the store's busy timeout: its transactions fail. */
async function lockDatabase(sqlitePath: string): Promise<() => Promise<void>> {
  const lock = await holdSqliteWriteLock(sqlitePath, 100);
  defer(() => lock.release());
  return () => lock.release();
}

describe('AuditStore.health()', () => {
  it('reports a fresh store as healthy, with the parts it has', async () => {
    const dir = tempDir('atom-gov-health-');
    const store = track(await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite') }));
    const health = store.health();
    expect(health).toEqual({
      ok: true,
      driver: 'better-sqlite3',
      writer: { mode: 'in-process', queued: 0, inFlight: 0, lagMs: 0, failedBatches: 0 },
      checkpoints: { enabled: false, failures: 0 },
      trailFile: { enabled: false, failures: 0 },
      spool: { state: 'off', spooled: 0 },
    });
  });

  it('shows a trail-file write that fails (parent replaced by a file), and clears it after the next good write', async () => {
    const dir = tempDir('atom-gov-health-');
    const trailDir = join(dir, 'trail');
    const trailFile = join(trailDir, 'audit.jsonl');
    const store = track(await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite'), trailFile }));

    await store.append(event());
    const good = store.health();
    expect(good.ok).toBe(true);
    expect(good.trailFile).toMatchObject({ enabled: true, path: trailFile, failures: 0 });
    expect(good.trailFile.lastWriteAt).toEqual(expect.any(String));
    expect(good.writer.lastCommitAt).toEqual(expect.any(String));
    expect(good.writer.lastCommitLagMs).toBeGreaterThanOrEqual(0);

    // The trail's directory becomes a plain file: every append to the trail now fails with ENOTDIR.
    rmSync(trailDir, { recursive: true });
    writeFileSync(trailDir, 'not a directory');
    // The event itself is durable in the database: the append resolves.
    await expect(store.append(event())).resolves.toBeUndefined();
    const bad = store.health();
    expect(bad.ok).toBe(false);
    expect(bad.trailFile.failures).toBe(1);
    expect(bad.trailFile.lastError?.message).toMatch(/trail file .*audit\.jsonl failed: ENOTDIR/);
    expect(Date.parse(bad.trailFile.lastError?.at ?? '')).not.toBeNaN();
    expect(bad.writer.lastError).toBeUndefined();
    expect(await store.query({ tenant: 'acme' })).toHaveLength(2);

    rmSync(trailDir);
    mkdirSync(trailDir);
    await store.append(event());
    const recovered = store.health();
    expect(recovered.ok).toBe(true);
    expect(recovered.trailFile.lastError).toBeUndefined();
    expect(recovered.trailFile.failures).toBe(1);
  });

  it('shows the last checkpoint time, and a checkpoint whose mirror file cannot be written', async () => {
    const dir = tempDir('atom-gov-health-');
    const store = track(
      await openAuditStore({
        sqlitePath: join(dir, 'audit.sqlite'),
        checkpoints: { signingKeyPath: join(dir, 'key.pem'), mirrorFile: join(dir, 'mirror', 'checkpoints.jsonl') },
      }),
    );
    mkdirSync(join(dir, 'mirror'));
    await store.append(event());
    await store.checkpoint();
    const good = store.health();
    expect(good.ok).toBe(true);
    expect(good.checkpoints.enabled).toBe(true);
    expect(Date.parse(good.checkpoints.lastAt ?? '')).not.toBeNaN();

    rmSync(join(dir, 'mirror'), { recursive: true });
    writeFileSync(join(dir, 'mirror'), 'not a directory');
    await store.append(event());
    await expect(store.checkpoint()).rejects.toThrow(/mirroring checkpoints to .*checkpoints\.jsonl failed/);
    const bad = store.health();
    expect(bad.ok).toBe(false);
    expect(bad.checkpoints.failures).toBe(1);
    expect(bad.checkpoints.lastError?.message).toMatch(/manual checkpoint failed: mirroring checkpoints/);
    expect(bad.checkpoints.lastAt).toBe(good.checkpoints.lastAt);
  });

  it('shows a failed write transaction and its count until the next commit succeeds', async () => {
    const dir = tempDir('atom-gov-health-');
    const sqlitePath = join(dir, 'audit.sqlite');
    const store = track(await openAuditStore({ sqlitePath, timeoutMs: 100 }));
    await store.append(event());
    const release = await lockDatabase(sqlitePath);
    await expect(store.append(event())).rejects.toThrow(/audit store unavailable/);
    const bad = store.health();
    expect(bad.ok).toBe(false);
    expect(bad.writer.failedBatches).toBe(1);
    expect(bad.writer.lastError?.message).toMatch(/database is locked/);
    expect(bad.writer).toMatchObject({ queued: 0, inFlight: 0, lagMs: 0 });

    await release();
    await store.append(event());
    expect(store.health()).toMatchObject({ ok: true, writer: { failedBatches: 1 } });
    expect(store.health().writer.lastError).toBeUndefined();
  });

  it('reports the spool state through a spooling store', async () => {
    const dir = tempDir('atom-gov-health-');
    const sqlitePath = join(dir, 'audit.sqlite');
    const store = track(
      withAuditSpool(await openAuditStore({ sqlitePath, timeoutMs: 100 }), {
        spoolPath: join(dir, 'spool.jsonl'),
        pingIntervalMs: 30,
      }),
    );
    expect(store.health()).toMatchObject({ ok: true, spool: { state: 'idle', spooled: 0 } });
    const release = await lockDatabase(sqlitePath);
    await store.append(event());
    await store.append(event());
    const spooling = store.health();
    expect(spooling.ok).toBe(false);
    expect(spooling.spool).toMatchObject({ state: 'spooling', spooled: 2 });
    expect(spooling.spool.reason).toMatch(/database is locked/);

    await release();
    await store.drained();
    expect(store.health()).toMatchObject({ ok: true, spool: { state: 'idle', spooled: 0 } });
    expect(await store.query({ tenant: 'acme' })).toHaveLength(2);
  });
});
