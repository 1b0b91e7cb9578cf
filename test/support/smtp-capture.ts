// A real SMTP server on loopback (smtp-server) that parses every message (mailparser) and keeps it, so e2e tests can
// wait for the mails the product sends instead of sleeping.
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  parsed: ParsedMail;
  /** The first recipient's address, lower case. */
  to: string;
  subject: string;
  /** The X-Atom-Gov-Operation header ('' when absent). */
  operationId: string;
  text: string;
  /** Arrival time (Date.now()). */
  at: number;
}

export interface SmtpCapture {
  readonly port: number;
  /** Every mail received so far, in arrival order. */
  readonly mails: readonly CapturedMail[];
  /** The first mail (already received or still to come) matching `match`. */
  waitFor(match: (mail: CapturedMail) => boolean): Promise<CapturedMail>;
  close(): Promise<void>;
}

function firstAddress(mail: ParsedMail): string {
  const to = Array.isArray(mail.to) ? mail.to[0] : mail.to;
  return to?.value[0]?.address?.toLowerCase() ?? '';
}

export async function startSmtpCapture(): Promise<SmtpCapture> {
  const mails: CapturedMail[] = [];
  let waiters: Array<() => void> = [];
  const smtp = new SMTPServer({
    // Without this smtp-server does a reverse DNS lookup per connection (up to 1.5 s each).
    disableReverseLookup: true,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          mails.push({
            parsed,
            to: firstAddress(parsed),
            subject: parsed.subject ?? '',
            operationId: String(parsed.headers.get('x-atom-gov-operation') ?? ''),
            text: parsed.text ?? '',
            at: Date.now(),
          });
          const woken = waiters;
          waiters = [];
          woken.forEach((wake) => wake());
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  return {
    port: (smtp.server.address() as { port: number }).port,
    mails,
    async waitFor(match) {
      for (;;) {
        const found = mails.find(match);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: () => new Promise<void>((resolve) => smtp.close(() => resolve())),
  };
}

/** The gateway's approval link in a mail's text; throws naming the recipient when there is none. */
export function approvalLinkIn(mail: CapturedMail): string {
  const match = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/\S+)/.exec(mail.text);
  if (!match?.[1]) throw new Error(`no approval link in the mail to ${mail.to}: ${mail.text}`);
  return match[1];
}
