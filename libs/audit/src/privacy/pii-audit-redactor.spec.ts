import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditEvent } from '../audit-spec-fixtures.js';
import { type AuditStore, openAuditStore } from '../index.js';
import { createPiiAuditRedactor } from './pii-audit-redactor.js';

describe('createPiiAuditRedactor', () => {
  const redactor = createPiiAuditRedactor();

  it('redacts JSON summaries as JSON and reports kinds only', () => {
    const r = redactor.redact('{"to":"jane.doe@example.com","ssn":"078-05-1120","note":"hi"}');
    expect(r.kinds).toEqual(['email', 'ssn']);
    expect(r.text).not.toContain('jane.doe@example.com');
    expect(r.text).not.toContain('078-05-1120');
    expect(JSON.parse(r.text)).toMatchObject({ note: 'hi' });
    expect(JSON.stringify(r.kinds)).not.toContain('jane');
  });

  it('redacts plain text and leaves clean text alone', () => {
    const r = redactor.redact('card 4111 1111 1111 1111 declined');
    expect(r.kinds).toEqual(['credit_card']);
    expect(r.text).not.toContain('4111 1111 1111 1111');
    expect(redactor.redact('{"zone":"example"}')).toEqual({ text: '{"zone":"example"}', kinds: [] });
  });

  it('fails closed on a value it cannot scan: nothing of it is stored', () => {
    let deep: unknown = 'jane.doe@example.com';
    for (let i = 0; i < 600; i += 1) deep = [deep];
    const r = redactor.redact(JSON.stringify(deep));
    expect(r).toEqual({ text: '[redacted: value could not be scanned for PII]', kinds: ['unscannable'] });
  });
});

describe('PII redaction through the audit store (pii_redaction: true)', () => {
  let dir: string;
  let store: AuditStore;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'atom-gov-pii-audit-'));
    store = await openAuditStore({ sqlitePath: join(dir, 'audit.sqlite'), redactor: createPiiAuditRedactor() });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the redacted text and notes the kinds removed (log_redacted), never the value', async () => {
    await store.append(
      auditEvent({
        outcome: 'error',
        argsSummary: '{"email":"jane.doe@example.com"}',
        errorMessage: 'no account for SSN 078-05-1120',
      }),
    );
    const [e] = await store.query({ tenant: 'acme' });
    expect(JSON.stringify(e)).not.toContain('jane.doe@example.com');
    expect(JSON.stringify(e)).not.toContain('078-05-1120');
    expect(e?.notes).toEqual([expect.stringMatching(/^pii redacted: email, ssn$/)]);
  });
});
