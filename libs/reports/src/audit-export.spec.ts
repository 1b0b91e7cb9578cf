import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { AuditEvent } from '@atom-gov/audit';
import { parse } from 'csv-parse/sync';
import { EXPORT_COLUMNS, exportAuditEvents, readRecipientKeys, ReportError } from './index.js';

function event(i: number, overrides: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    time: new Date(Date.UTC(2026, 9, 1) + i * 1000),
    tenant: 'acme',
    user: 'alice@example.com',
    server: 'perplexity_mcp',
    method: 'tools/call',
    target: 'search',
    decision: 'allow',
    rules: ['r1', 'r2'],
    configVersion: 'f'.repeat(64),
    outcome: 'ok',
    durationMs: 12,
    requestBytes: 300,
    responseBytes: 4000,
    argsSummary: `{"query":"question number ${i}"}`,
    ...overrides,
  };
}

async function* events(n: number, make: (i: number) => AuditEvent = (i) => event(i)): AsyncGenerator<AuditEvent> {
  for (let i = 0; i < n; i++) yield make(i);
}

describe('exportAuditEvents', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-export-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes JSON as one array, JSON Lines one event per line, both round-tripping every field', async () => {
    const json = join(dir, 'a.json');
    const r = await exportAuditEvents(events(2503), { format: 'json', output: json, chunkSize: 100 });
    expect(r).toMatchObject({ events: 2503, encrypted: false });
    const parsed = JSON.parse(readFileSync(json, 'utf8')) as Array<Record<string, unknown>>;
    expect(parsed).toHaveLength(2503);
    expect(parsed[2502]).toEqual(JSON.parse(JSON.stringify(event(2502))));

    const jsonl = join(dir, 'a.jsonl');
    await exportAuditEvents(events(5), { format: 'jsonl', output: jsonl });
    const lines = readFileSync(jsonl, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([0, 1, 2, 3, 4].map((i) => event(i).id));

    const empty = join(dir, 'empty.json');
    await exportAuditEvents(events(0), { format: 'json', output: empty });
    expect(JSON.parse(readFileSync(empty, 'utf8'))).toEqual([]);
  });

  it('writes CSV with a header and neutralises formula cells (= + - @ tab CR)', async () => {
    const payloads = ['=HYPERLINK("http://evil","x")', '+1+2', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd', 'plain'];
    const csv = join(dir, 'a.csv');
    await exportAuditEvents(
      events(payloads.length, (i) => event(i, { argsSummary: payloads[i]!, target: payloads[i]! })),
      { format: 'csv', output: csv },
    );
    const rows = parse(readFileSync(csv, 'utf8'), { columns: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toEqual([...EXPORT_COLUMNS]);
    expect(rows.map((r) => r.argsSummary)).toEqual([
      `'=HYPERLINK("http://evil","x")`,
      "'+1+2",
      "'-2+3",
      "'@SUM(A1)",
      "'\tcmd",
      "'\rcmd",
      'plain',
    ]);
    expect(rows[0]).toMatchObject({ time: '2026-10-01T00:00:00.000Z', rules: 'r1; r2', durationMs: '12', seq: '' });
  });

  it('streams 300,000 events without holding them (heap growth far below their size)', async () => {
    // Measure what the export retains, not garbage the collector has not reached yet (a loaded machine lets
    // garbage pile up past any fixed bound): collect, then read the heap, at a third and two thirds of the way.
    // Only twice: a full collection walks the whole Jest worker heap, which after many suites is large (30
    // collections took 77 s in CI), and holding the events would show at either point.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    let reports = 0;
    const r = await exportAuditEvents(events(300_000), {
      format: 'jsonl',
      output: join(dir, 'big.jsonl'),
      onProgress: () => {
        if (++reports !== 100 && reports !== 200) return;
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      },
    });
    expect(reports).toBeGreaterThan(200);
    expect(r.events).toBe(300_000);
    // The file is ~130 MB; holding the events would grow the heap by more than that.
    expect(r.bytes).toBeGreaterThan(100 * 1024 * 1024);
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('writes every byte of cells larger than its output buffers, multi-byte text included, page source or not', async () => {
    // 300k code units of 2-, 3- and 4-byte UTF-8 (a surrogate pair): far past the 256 KiB buffers the export fills.
    const huge = `start ${'é€😀"'.repeat(60_000)} end`;
    const make = (i: number) => event(i, i === 3 ? { argsSummary: huge, resultSummary: `=${huge}` } : {});
    const pageSource = (n: number) =>
      Object.assign(events(n, make), {
        async *pages() {
          for (let i = 0; i < n; i += 4) yield Array.from({ length: Math.min(4, n - i) }, (_, k) => make(i + k));
        },
      });
    for (const format of ['json', 'jsonl', 'csv'] as const) {
      const plain = join(dir, `huge-plain.${format}`);
      const paged = join(dir, `huge-paged.${format}`);
      const progress: number[] = [];
      await exportAuditEvents(events(10, make), { format, output: plain, chunkSize: 3 });
      await exportAuditEvents(pageSource(10), {
        format,
        output: paged,
        chunkSize: 3,
        onProgress: (n) => progress.push(n),
      });
      expect(readFileSync(paged).equals(readFileSync(plain))).toBe(true);
      expect(progress).toEqual([3, 6, 9, 10]);
      const text = readFileSync(plain, 'utf8');
      const cells =
        format === 'csv'
          ? (parse(text, { columns: true }) as Array<Record<string, string>>).map((r) => [
              r.argsSummary,
              r.resultSummary,
            ])
          : (format === 'json'
              ? (JSON.parse(text) as AuditEvent[])
              : text
                  .trimEnd()
                  .split('\n')
                  .map((l) => JSON.parse(l) as AuditEvent)
            ).map((e) => [e.argsSummary, e.resultSummary]);
      expect(cells).toHaveLength(10);
      // CSV shows the formula-looking cell with its leading quote; the JSON forms keep it as it was.
      expect(cells[3]).toEqual([huge, format === 'csv' ? `'=${huge}` : `=${huge}`]);
      expect(cells[4]![0]).toBe(event(4).argsSummary);
    }
  });

  it('leaves no partial file when the source fails half way', async () => {
    async function* failing(): AsyncGenerator<AuditEvent> {
      yield* events(1500);
      throw new Error('database went away');
    }
    const out = join(dir, 'failed.json');
    await expect(exportAuditEvents(failing(), { format: 'json', output: out })).rejects.toThrow('database went away');
    expect(readdirSync(dir).filter((f) => f.startsWith('failed.json'))).toEqual([]);
  });
});

describe('OpenPGP export that GnuPG decrypts', () => {
  let home: string;
  const gpg = (args: string[], input?: string): Buffer =>
    execFileSync('gpg', ['--batch', '--homedir', home, ...args], {
      ...(input !== undefined ? { input } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });

  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'atom-gov-gnupg-'));
    const params = [
      'Key-Type: EDDSA',
      'Key-Curve: ed25519',
      'Subkey-Type: ECDH',
      'Subkey-Curve: cv25519',
      'Name-Real: Audit Reviewer',
      'Name-Email: auditor@example.com',
      'Expire-Date: 0',
      '%no-protection',
      '%commit',
    ].join('\n');
    gpg(['--gen-key'], `${params}\n`);
    writeFileSync(join(home, 'auditor.asc'), gpg(['--armor', '--export', 'auditor@example.com']));
    writeFileSync(join(home, 'auditor.gpg'), gpg(['--export', 'auditor@example.com']));
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('gpg --decrypt gives exactly the plain export (armored and binary key files)', async () => {
    const plain = join(home, 'plain.json');
    await exportAuditEvents(events(5000), { format: 'json', output: plain });
    for (const keyFile of ['auditor.asc', 'auditor.gpg']) {
      const recipients = await readRecipientKeys([join(home, keyFile)]);
      const sealed = join(home, `audit-${keyFile}.json.gpg`);
      const r = await exportAuditEvents(events(5000), { format: 'json', output: sealed, recipients });
      expect(r).toMatchObject({ events: 5000, encrypted: true });
      expect(readFileSync(sealed).subarray(0, 200).toString('latin1')).not.toContain('perplexity_mcp');
      const opened = join(home, `opened-${keyFile}.json`);
      gpg(['--output', opened, '--decrypt', sealed]);
      expect(readFileSync(opened).equals(readFileSync(plain))).toBe(true);
    }
  });

  it('refuses files that are not usable public keys, naming the file', async () => {
    const junk = join(home, 'junk.asc');
    writeFileSync(junk, 'hello');
    await expect(readRecipientKeys([junk])).rejects.toThrow(new RegExp(`${junk} is not an OpenPGP public key`));
    await expect(readRecipientKeys([join(home, 'missing.asc')])).rejects.toBeInstanceOf(ReportError);
    const secret = join(home, 'secret.asc');
    writeFileSync(secret, gpg(['--armor', '--export-secret-keys', 'auditor@example.com']));
    await expect(readRecipientKeys([secret])).rejects.toThrow(/holds a private key/);
  });
});
