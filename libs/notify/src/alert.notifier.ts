// Fast-path alerts (rate-limit hits, PII findings, pin-blocked definitions, shadow-mode would-be denials) sent to
// the policy's `notification:` targets: Slack (Web API), email (SMTP, or the outbox in the embedded default) and
// webhooks. The gateway calls `alert()` on the request path, so it never awaits, never throws, and deduplicates
// per window: a hot loop hitting a limit 1,000 times sends one alert per target per window, and the next one
// says how many were folded into it.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NotificationsConfig, NotificationTarget } from '@atom-gov/config';
import type { WebClient } from '@slack/web-api';
import nodemailer, { type Transporter } from 'nodemailer';
import { createSlackClient, SlackChannelResolver } from './slack.notifier.js';

export type AlertKind = 'rate_limit' | 'pii' | 'pin_blocked' | 'would_deny';

export interface Alert {
  kind: AlertKind;
  server: string;
  tenant?: string;
  /** Tool / prompt / resource the alert is about. */
  target?: string;
  /** Policy rule that asked for the alert. */
  rule?: string;
  /** One line for humans; never contains argument values (PII alerts name kinds only). */
  text: string;
  targets: readonly NotificationTarget[];
}

export interface AlertNotifierOptions {
  notifications: NotificationsConfig;
  /** One alert per (kind, tenant, server, target, rule, destination) per window. Default 5 minutes. */
  dedupWindowMs?: number;
  /** Attempts per delivery (default 3), with backoff `retryDelayMs` * 2^n (default 250 ms). */
  attempts?: number;
  retryDelayMs?: number;
  /** Deliveries in flight at once; beyond it alerts are dropped with a log line (default 32). */
  maxInFlight?: number;
  /** Where delivery failures and outbox writes are reported (default: stderr). */
  log?: (line: string) => void;
  now?: () => number;
  /** Injected Web API client (default: one from notifications.slack when a bot token is set). */
  slack?: WebClient;
}

interface Window {
  until: number;
  suppressed: number;
}

export interface AlertStats {
  sent: number;
  suppressed: number;
  failed: number;
  dropped: number;
}

const KIND_TITLE: Record<AlertKind, string> = {
  rate_limit: 'Rate limit',
  pii: 'PII detected',
  pin_blocked: 'Tool definition changed (pinning)',
  would_deny: 'Would deny (shadow mode)',
};

export class AlertNotifier {
  private readonly windows = new Map<string, Window>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly mail: Transporter;
  private readonly outbox: boolean;
  private readonly slack?: WebClient;
  private readonly resolver?: SlackChannelResolver;
  private readonly log: (line: string) => void;
  private readonly now: () => number;
  readonly stats: AlertStats = { sent: 0, suppressed: 0, failed: 0, dropped: 0 };
  private closed = false;

  constructor(private readonly opts: AlertNotifierOptions) {
    const n = opts.notifications;
    this.log = opts.log ?? ((line) => process.stderr.write(`[alerts] ${line}\n`));
    this.now = opts.now ?? Date.now;
    this.outbox = n.smtp === undefined;
    this.mail =
      n.smtp === undefined
        ? nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
        : nodemailer.createTransport({
            host: n.smtp.host,
            port: n.smtp.port,
            secure: n.smtp.secure,
            ...(n.smtp.user !== undefined ? { auth: { user: n.smtp.user, pass: n.smtp.pass ?? '' } } : {}),
            connectionTimeout: 5_000,
            greetingTimeout: 5_000,
            socketTimeout: 10_000,
          });
    // Our own bounded retries below; the client's would retry for half an hour.
    this.slack = opts.slack ?? (n.slack.botToken ? createSlackClient(n.slack, { retries: 0 }) : undefined);
    if (this.slack) this.resolver = new SlackChannelResolver(this.slack, n.slack.channels);
  }

  /** Queues the alert for every target not alerted within the window; returns at once, never throws. */
  alert(a: Alert): void {
    if (this.closed) return;
    const now = this.now();
    const windowMs = this.opts.dedupWindowMs ?? 5 * 60_000;
    // Without a target the alert is only logged, deduplicated the same way.
    for (const target of a.targets.length > 0 ? a.targets : [undefined]) {
      const key = [a.kind, a.tenant ?? '', a.server, a.target ?? '', a.rule ?? '', target?.uri ?? ''].join('\u0000');
      const w = this.windows.get(key);
      if (w && w.until > now) {
        w.suppressed++;
        this.stats.suppressed++;
        continue;
      }
      const folded = w?.suppressed ?? 0;
      this.windows.set(key, { until: now + windowMs, suppressed: 0 });
      if (target) this.dispatch(a, target, folded, windowMs);
      else this.log(`alert (no notification target configured): ${withFolded(line(a), folded, windowMs)}`);
    }
    if (this.windows.size > 10_000) this.prune(now);
  }

  /** Resolves once every queued delivery has finished (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    this.mail.close();
  }

  private dispatch(a: Alert, target: NotificationTarget, folded: number, windowMs: number): void {
    if (this.inFlight.size >= (this.opts.maxInFlight ?? 32)) {
      this.stats.dropped++;
      this.log(`alert dropped (too many deliveries in flight) for ${target.uri}: ${line(a)}`);
      return;
    }
    const text = withFolded(line(a), folded, windowMs);
    const p = this.deliver(a, target, text)
      .then(() => {
        this.stats.sent++;
      })
      .catch((error: unknown) => {
        this.stats.failed++;
        this.log(`alert to ${target.uri} failed: ${(error as Error).message}; alert was: ${text}`);
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async deliver(a: Alert, target: NotificationTarget, text: string): Promise<void> {
    const attempts = this.opts.attempts ?? 3;
    const delay = this.opts.retryDelayMs ?? 250;
    for (let i = 1; ; i++) {
      try {
        await this.send(a, target, text);
        return;
      } catch (error) {
        if (i >= attempts || !retryable(error)) throw error;
        await new Promise((r) => setTimeout(r, delay * 2 ** (i - 1)).unref());
      }
    }
  }

  private async send(a: Alert, target: NotificationTarget, text: string): Promise<void> {
    const title = `${KIND_TITLE[a.kind]}: ${a.target ?? a.server}`;
    switch (target.kind) {
      case 'slack': {
        if (!this.slack || !this.resolver)
          throw new NotRetryable('Slack is not configured (set notifications.slack.bot_token)');
        const channel = await this.resolver.resolve(target.uri);
        await this.slack.chat.postMessage({
          channel,
          text: `:warning: *ATOM-GOV alert* ${text}`,
          blocks: [
            { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
            { type: 'section', text: { type: 'plain_text', text: text.slice(0, 2900) } },
            {
              type: 'context',
              elements: [
                {
                  type: 'mrkdwn',
                  text: [`server ${a.server}`, a.tenant && `tenant ${a.tenant}`, a.rule && `policy ${a.rule}`]
                    .filter(Boolean)
                    .join(' · '),
                },
              ],
            },
          ],
          unfurl_links: false,
          unfurl_media: false,
        });
        return;
      }
      case 'email': {
        const to = target.address;
        if (!/^[^@\s]+@[^@\s]+$/.test(to)) throw new NotRetryable(`'${target.uri}' is not an email address`);
        const info = (await this.mail.sendMail({
          from: this.opts.notifications.from,
          to,
          subject: `[ATOM-GOV alert] ${title}`,
          text: `${text}\n\nServer: ${a.server}\n${a.tenant ? `Tenant: ${a.tenant}\n` : ''}${a.rule ? `Policy: ${a.rule}\n` : ''}`,
          headers: { 'X-Atom-Gov-Alert': a.kind },
        })) as { message?: Buffer };
        if (this.outbox) {
          const dir = this.opts.notifications.outboxDir;
          await mkdir(dir, { recursive: true });
          const file = join(dir, `${this.now()}-alert-${a.kind}-${to.replace(/[^a-zA-Z0-9@._-]/g, '_')}.eml`);
          await writeFile(file, info.message ?? Buffer.alloc(0), { mode: 0o600 });
          this.log(`alert email to ${to} written to ${file}`);
        }
        return;
      }
      case 'webhook': {
        const res = await fetch(target.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ source: 'atom-gov', ...a, targets: undefined, text }),
          signal: AbortSignal.timeout(10_000),
        });
        if (!res.ok) {
          const e = new Error(`webhook answered HTTP ${res.status}`);
          throw res.status >= 400 && res.status < 500 && res.status !== 429 ? new NotRetryable(e.message) : e;
        }
        return;
      }
    }
  }

  private prune(now: number): void {
    for (const [k, w] of this.windows) if (w.until <= now && w.suppressed === 0) this.windows.delete(k);
  }
}

class NotRetryable extends Error {}

function retryable(error: unknown): boolean {
  if (error instanceof NotRetryable) return false;
  // Slack platform errors (channel_not_found, invalid_auth...) do not heal by retrying.
  const code = (error as { code?: string }).code;
  return code !== 'slack_webapi_platform_error';
}

function withFolded(text: string, folded: number, windowMs: number): string {
  return folded > 0 ? `${text} (${folded} more like it in the last ${Math.round(windowMs / 1000)} s)` : text;
}

function line(a: Alert): string {
  const who = a.tenant ? ` (tenant ${a.tenant})` : '';
  return `${KIND_TITLE[a.kind]} on ${a.server}${a.target ? ` ${a.target}` : ''}${who}: ${a.text}`;
}
