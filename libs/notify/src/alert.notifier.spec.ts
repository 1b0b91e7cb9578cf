import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NotificationsConfig } from '@atom-gov/config';
import { AlertNotifier, type Alert } from './alert.notifier.js';

/** A webhook receiver that fails the first `failures` requests with HTTP 503, then answers 204. */
let server: Server;
let url: string;
let failures = 0;
const received: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/gone') return void res.writeHead(404).end();
      if (failures > 0) {
        failures--;
        return void res.writeHead(503).end();
      }
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(204).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function config(): NotificationsConfig {
  const dir = mkdtempSync(join(tmpdir(), 'atom-gov-alerts-'));
  return {
    publicUrl: 'http://127.0.0.1:8700',
    from: 'ATOM-GOV <gov@localhost>',
    outboxDir: join(dir, 'outbox'),
    linkKeyFile: join(dir, 'key'),
    slack: { socketMode: false, host: '127.0.0.1', port: 3000, channels: {}, users: {} },
  };
}

const alert = (path = '/hook'): Alert => ({
  kind: 'rate_limit',
  server: 'perplexity_mcp',
  tenant: 'acme',
  target: 'echo',
  rule: 'research_rate_limit',
  text: 'call denied: limit 100/hour per user exceeded',
  targets: [{ kind: 'webhook', url: `${url}${path}`, uri: `${url}${path}` }],
});

describe('AlertNotifier', () => {
  it('deduplicates per window and folds the suppressed count into the next alert', async () => {
    received.length = 0;
    let now = 1_000_000;
    const n = new AlertNotifier({ notifications: config(), dedupWindowMs: 60_000, now: () => now, log: () => {} });
    for (let i = 0; i < 100; i++) n.alert(alert());
    await n.flush();
    expect(received).toHaveLength(1);
    expect(n.stats).toMatchObject({ sent: 1, suppressed: 99, failed: 0 });
    now += 60_001;
    n.alert(alert());
    await n.flush();
    expect(received).toHaveLength(2);
    expect(received[1]!.text).toContain('(99 more like it in the last 60 s)');
    expect(received[1]).toMatchObject({ kind: 'rate_limit', server: 'perplexity_mcp', rule: 'research_rate_limit' });
    await n.close();
  });

  it('retries a transient failure (bounded) and logs a permanent one without throwing', async () => {
    received.length = 0;
    const lines: string[] = [];
    const n = new AlertNotifier({ notifications: config(), retryDelayMs: 1, log: (l) => lines.push(l) });
    failures = 2;
    n.alert(alert());
    await n.flush();
    expect(received).toHaveLength(1); // third attempt succeeded

    failures = 5;
    n.alert({ ...alert(), tenant: 'globex' });
    await n.flush();
    expect(failures).toBe(2); // 3 attempts, then given up
    expect(n.stats.failed).toBe(1);
    expect(lines.at(-1)).toMatch(
      /^alert to http:.* failed: webhook answered HTTP 503; alert was: Rate limit on perplexity_mcp echo/,
    );

    n.alert(alert('/gone')); // 404: not retried
    await n.flush();
    expect(n.stats.failed).toBe(2);
    expect(lines.at(-1)).toContain('HTTP 404');
    failures = 0;
    await n.close();
  });

  it('logs an alert without targets once per window; Slack without a bot token is a logged failure', async () => {
    const lines: string[] = [];
    const n = new AlertNotifier({ notifications: config(), log: (l) => lines.push(l) });
    n.alert({ ...alert(), targets: [] });
    n.alert({ ...alert(), targets: [] });
    n.alert({ ...alert(), targets: [{ kind: 'slack', channel: 'ops', uri: 'slack://ops' }] });
    await n.close();
    expect(lines.filter((l) => l.startsWith('alert (no notification target configured)'))).toHaveLength(1);
    expect(lines.some((l) => l.includes('Slack is not configured (set notifications.slack.bot_token)'))).toBe(true);
  });
});
