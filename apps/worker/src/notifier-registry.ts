import { ApplicationFailure } from '@temporalio/common';
import { type NotificationRequest, type NotificationResult, type Notifier } from '@atom-gov/contracts';

/** The scheme a target is routed by: `mailto:a@b` and a bare `a@b` -> mailto; `slack://c`, `slack:U1` -> slack. */
export function targetScheme(target: string): string {
  const m = /^([a-z][a-z0-9+.-]*):/i.exec(target);
  if (m?.[1]) return m[1].toLowerCase();
  if (/^[^\s@]+@[^\s@]+$/.test(target)) return 'mailto';
  return '';
}

/** Routes each notification to the notifier registered for its target's scheme. */
export class NotifierRegistry {
  private readonly bySchema = new Map<string, Notifier>();

  constructor(notifiers: readonly Notifier[] = []) {
    for (const n of notifiers) this.register(n);
  }

  /** A later notifier for the same scheme replaces the earlier one (the channels configured last win). */
  register(notifier: Notifier): this {
    for (const s of notifier.schemes) this.bySchema.set(s.toLowerCase(), notifier);
    return this;
  }

  schemes(): string[] {
    return [...this.bySchema.keys()].sort();
  }

  async send(request: NotificationRequest): Promise<NotificationResult> {
    const scheme = targetScheme(request.target);
    const notifier = this.bySchema.get(scheme);
    if (!notifier) {
      // Retrying cannot help: no channel is configured for this kind of target.
      throw ApplicationFailure.create({
        type: 'NoNotifier',
        nonRetryable: true,
        message: `no notifier for ${request.target} (scheme '${scheme || 'none'}'); configured: ${this.schemes().join(', ') || 'none'}`,
      });
    }
    return notifier.send(request);
  }
}
