// Streams audit events into a JSON array, JSON Lines or CSV file, optionally OpenPGP-encrypted, without holding
// the events in memory: events are serialised a page at a time and pulled by the file's write stream
// (stream.pipeline), so a slow disk or the encryption slows the database reads instead of filling memory.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { AuditEvent } from '@atom-gov/audit';
import { stringify } from 'csv-stringify/sync';
import * as openpgp from 'openpgp';
import { ReportError } from './report-error.js';

export const EXPORT_FORMATS = ['json', 'jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * CSV columns: every stored field, the chain fields included (empty until the store fills them). Tools read the
 * JSON forms by key, so only CSV needs a fixed list.
 */
export const EXPORT_COLUMNS = [
  'id',
  'seq',
  'time',
  'tenant',
  'user',
  'sessionId',
  'server',
  'method',
  'target',
  'decision',
  'policy',
  'rules',
  'configVersion',
  'intent',
  'outcome',
  'errorMessage',
  'durationMs',
  'requestBytes',
  'responseBytes',
  'argsSummary',
  'resultSummary',
  'operationId',
  'notes',
  'hash',
  'prevHash',
] as const;

export interface ExportOptions {
  format: ExportFormat;
  /** Written to `<output>.partial-…` first and renamed when complete, so a failed export leaves no half file. */
  output: string;
  /** OpenPGP public keys to encrypt to (see readRecipientKeys); none: plain file. */
  recipients?: openpgp.PublicKey[];
  /** Called after each chunk with the number of events written so far. */
  onProgress?: (written: number) => void;
  /** Events per chunk handed to the file (default 1000); progress is reported per chunk. */
  chunkSize?: number;
}

export interface ExportResult {
  events: number;
  bytes: number;
  output: string;
  encrypted: boolean;
}

/**
 * Events to export: any async iterable; when it also offers `pages()` (AuditStore.stream does), events are taken a
 * page at a time, which saves a promise and an iterator result per event.
 */
export type ExportSource = AsyncIterable<AuditEvent> & { pages?(): AsyncIterable<readonly AuditEvent[]> };

export async function exportAuditEvents(events: ExportSource, opts: ExportOptions): Promise<ExportResult> {
  const chunkSize = opts.chunkSize ?? 1000;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new ReportError(`chunkSize must be a positive integer, got ${String(opts.chunkSize)}`);
  }
  let count = 0;
  async function* serialise(): AsyncGenerator<Buffer> {
    const out = new ChunkWriter();
    if (opts.format === 'json') out.text('[');
    if (opts.format === 'csv') out.text(stringify([[...EXPORT_COLUMNS]]));
    const renderOne = RENDERERS[opts.format];
    let inChunk = 0;
    for await (const page of pagesOf(events)) {
      for (let i = 0; i < page.length; i++) {
        renderOne(out, page[i]!, count === 0);
        count++;
        if (++inChunk === chunkSize) {
          inChunk = 0;
          yield* out.take();
          opts.onProgress?.(count);
        }
      }
    }
    if (opts.format === 'json') out.text(count === 0 ? ']\n' : '\n]\n');
    yield* out.take();
    opts.onProgress?.(count);
  }

  const partial = `${opts.output}.partial-${randomBytes(4).toString('hex')}`;
  const file = createWriteStream(partial, { mode: 0o600 });
  const source = Readable.from(serialise());
  const recipients = opts.recipients ?? [];
  try {
    if (recipients.length > 0) {
      await pipeline(source, await encryptingTransform(recipients), file);
    } else {
      await pipeline(source, file);
    }
    await rename(partial, opts.output);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return {
    events: count,
    bytes: (await stat(opts.output)).size,
    output: opts.output,
    encrypted: recipients.length > 0,
  };
}

async function* pagesOf(events: ExportSource): AsyncGenerator<readonly AuditEvent[]> {
  if (typeof events.pages === 'function') {
    yield* events.pages();
    return;
  }
  // A plain iterable: handed on in groups so the loop above stays the same.
  let page: AuditEvent[] = [];
  for await (const event of events) {
    page.push(event);
    if (page.length === 256) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/**
 * Output bytes written straight into large buffers that are handed to the file as they fill. Building each chunk
 * as one long concatenated string and converting it with Buffer.from cost a million-event export more than all
 * the rendering: the string rope kept every cell alive until the conversion (old-generation garbage) and was
 * flattened and encoded in one piece.
 */
class ChunkWriter {
  private static readonly SIZE = 256 * 1024;
  private buffer = Buffer.allocUnsafe(ChunkWriter.SIZE);
  /** Bytes of `buffer` already handed out (never written again) and bytes filled. */
  private start = 0;
  private end = 0;
  private full: Buffer[] = [];

  /** Appends UTF-8 text. */
  text(value: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit, so this check never lets write() truncate.
    if (this.buffer.length - this.end < value.length * 3) this.grow(value.length * 3);
    this.end += this.buffer.write(value, this.end);
  }

  /** Appends one ASCII byte (separators, quotes, newlines). */
  byte(code: number): void {
    if (this.end === this.buffer.length) this.grow(1);
    this.buffer[this.end++] = code;
  }

  /** What was written since the last take, as buffers the caller may keep. */
  *take(): Generator<Buffer> {
    const full = this.full;
    this.full = [];
    yield* full;
    if (this.end > this.start) {
      const part = this.buffer.subarray(this.start, this.end);
      this.start = this.end;
      yield part;
    }
  }

  private grow(need: number): void {
    if (this.end > this.start) this.full.push(this.buffer.subarray(this.start, this.end));
    this.buffer = Buffer.allocUnsafe(Math.max(ChunkWriter.SIZE, need));
    this.start = 0;
    this.end = 0;
  }
}

const NEWLINE = 0x0a;

/** One event each; `first` tells JSON whether a separating comma is due. */
const RENDERERS: Record<ExportFormat, (out: ChunkWriter, e: AuditEvent, first: boolean) => void> = {
  jsonl(out, e) {
    out.text(JSON.stringify(e));
    out.byte(NEWLINE);
  },
  json(out, e, first) {
    out.text(first ? '\n  ' : ',\n  ');
    out.text(JSON.stringify(e));
  },
  csv(out, e) {
    // The header row goes through csv-stringify (above); rows take this loop, which writes what csv-stringify
    // writes with `escape_formulas` (its per-cell machinery was the bulk of a 1M-row CSV export). One string per
    // row, one write: a write per cell cost more than the cells' rendering.
    const record = e as unknown as Record<string, unknown>;
    let line = csvField(record[EXPORT_COLUMNS[0]]);
    for (let i = 1; i < EXPORT_COLUMNS.length; i++) line += `,${csvField(record[EXPORT_COLUMNS[i]!])}`;
    out.text(`${line}\n`);
  },
};

function cellText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.join('; ');
  return JSON.stringify(value);
}

/**
 * One CSV field as csv-stringify writes it with `escape_formulas: true`: a text cell starting with = + - @ tab CR
 * (or their full-width forms) gets a leading ', so a spreadsheet shows a tool argument such as =HYPERLINK(...) as
 * text instead of running it; numbers stay numbers; quotes only when needed (RFC 4180).
 */
export function csvField(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number') return String(value);
  let text = typeof value === 'string' ? value : cellText(value);
  if (text.length > 0 && isFormulaStart(text.charCodeAt(0))) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** = + - @ tab CR and the full-width = + - @ (a character code test: no one-character string per cell). */
function isFormulaStart(code: number): boolean {
  return (
    code === 0x3d ||
    code === 0x2b ||
    code === 0x2d ||
    code === 0x40 ||
    code === 0x09 ||
    code === 0x0d ||
    code === 0xff1d ||
    code === 0xff0b ||
    code === 0xff0d ||
    code === 0xff20
  );
}

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * A Node duplex that OpenPGP-encrypts what flows through it (binary message, SEIPD with MDC, which GnuPG opens).
 * openpgp.js streams are WHATWG streams: the Node side is bridged with Readable/Writable toWeb/fromWeb.
 */
async function encryptingTransform(recipients: openpgp.PublicKey[]): Promise<Transform> {
  const { PassThrough } = await import('node:stream');
  const input = new PassThrough();
  const message = await openpgp.createMessage({
    binary: Readable.toWeb(input) as unknown as ReadableStream<Uint8Array>,
    format: 'binary',
  });
  const encrypted = (await openpgp.encrypt({
    message,
    encryptionKeys: recipients,
    format: 'binary',
  })) as unknown as WebReadableStream<Uint8Array>;
  const output = Readable.fromWeb(encrypted);
  // A Duplex whose writable side is `input` and readable side is `output`.
  const { Duplex } = await import('node:stream');
  return Duplex.from({ writable: input, readable: output }) as unknown as Transform;
}

/**
 * The operator's own key, as `gpg --default-recipient-self` would pick it: the first secret key in the GnuPG
 * keyring (GNUPGHOME honoured). Undefined when gpg is not installed or holds no secret key. This is what makes the
 * seed's bare `atom-gov export --encrypt --output audit.json.gpg` work: the operator can `gpg --decrypt` it.
 */
export async function readOwnGpgKey(): Promise<openpgp.PublicKey | undefined> {
  const run = promisify(execFile);
  let listing: string;
  try {
    listing = (await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { encoding: 'utf8' })).stdout;
  } catch {
    return undefined;
  }
  // `sec` record, then its `fpr` record: the primary key's fingerprint (field 10).
  const lines = listing.split('\n');
  const sec = lines.findIndex((l) => l.startsWith('sec:') && !/^sec:[rei]:/.test(l));
  const fpr =
    sec >= 0
      ? lines
          .slice(sec + 1)
          .find((l) => l.startsWith('fpr:'))
          ?.split(':')[9]
      : undefined;
  if (!fpr) return undefined;
  const exported = await run('gpg', ['--batch', '--armor', '--export', fpr], { encoding: 'utf8' });
  const keys = await parseRecipientKey(Buffer.from(exported.stdout), `GnuPG key ${fpr}`);
  return keys;
}

/** Reads OpenPGP public keys (armored or binary) and checks that each can encrypt; errors name the file. */
export async function readRecipientKeys(files: readonly string[]): Promise<openpgp.PublicKey[]> {
  const keys: openpgp.PublicKey[] = [];
  for (const file of files) {
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      throw new ReportError(
        `cannot read the recipient key ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)} ` +
          '(export one with `gpg --armor --export KEYID > key.asc`)',
      );
    }
    keys.push(await parseRecipientKey(data, file));
  }
  return keys;
}

async function parseRecipientKey(data: Buffer, label: string): Promise<openpgp.PublicKey> {
  let key: openpgp.Key;
  try {
    const text = data.toString('utf8');
    key = text.includes('-----BEGIN PGP')
      ? await openpgp.readKey({ armoredKey: text })
      : await openpgp.readKey({ binaryKey: new Uint8Array(data) });
  } catch (error) {
    throw new ReportError(`${label} is not an OpenPGP public key: ${(error as Error).message}`);
  }
  if (key.isPrivate()) {
    throw new ReportError(`${label} holds a private key: give the recipient's public key (gpg --armor --export KEYID)`);
  }
  try {
    await key.getEncryptionKey();
  } catch (error) {
    throw new ReportError(
      `the key in ${label} cannot encrypt (${(error as Error).message}): is it expired or revoked?`,
    );
  }
  return key as openpgp.PublicKey;
}
