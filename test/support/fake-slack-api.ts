// A local stand-in for the Slack Web API (https://slack.com/api/<method>): records every call, answers like Slack.
import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  args: Record<string, unknown>;
  at: number;
}

export interface FakeSlackApi {
  readonly url: string;
  readonly calls: SlackCall[];
  /** Resolves with the first call (already made or future) of `method` matching `match`. */
  waitFor(method: string, match?: (call: SlackCall) => boolean): Promise<SlackCall>;
  close(): Promise<void>;
}

export async function startFakeSlackApi(opts: {
  channels: Array<{ id: string; name: string }>;
  emails: Record<string, string>;
  /** WebSocket URL handed out by apps.connections.open (Socket Mode). */
  socketUrl?: string;
}): Promise<FakeSlackApi> {
  const calls: SlackCall[] = [];
  const events = new EventEmitter();
  let seq = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
      const raw = Buffer.concat(chunks).toString('utf8');
      const args: Record<string, unknown> = {};
      if ((req.headers['content-type'] ?? '').includes('json')) Object.assign(args, JSON.parse(raw || '{}'));
      else
        for (const [k, v] of new URLSearchParams(raw)) {
          try {
            args[k] = /^[[{]/.test(v) ? JSON.parse(v) : v;
          } catch {
            args[k] = v;
          }
        }
      const call = { method, args, at: performance.now() };
      calls.push(call);
      events.emit('call', call);
      let body: Record<string, unknown>;
      switch (method) {
        case 'chat.postMessage':
          body = { ok: true, channel: args.channel, ts: `1700000000.${String(++seq).padStart(6, '0')}` };
          break;
        case 'chat.update':
          body = { ok: true, channel: args.channel, ts: args.ts };
          break;
        case 'conversations.list':
          body = { ok: true, channels: opts.channels, response_metadata: { next_cursor: '' } };
          break;
        case 'users.info': {
          const email = opts.emails[String(args.user)];
          body = email
            ? { ok: true, user: { id: args.user, profile: { email } } }
            : { ok: false, error: 'user_not_found' };
          break;
        }
        case 'apps.connections.open':
          body = opts.socketUrl ? { ok: true, url: opts.socketUrl } : { ok: false, error: 'not_allowed_token_type' };
          break;
        case 'auth.test':
          body = { ok: true, team_id: 'T0TEAM', user_id: 'U0BOT', bot_id: 'B0BOT', user: 'atom-gov' };
          break;
        default:
          body = { ok: true };
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    async waitFor(method, match = () => true) {
      for (;;) {
        const found = calls.find((c) => c.method === method && match(c));
        if (found) return found;
        await once(events, 'call');
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
