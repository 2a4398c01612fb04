import { DeliveryError, OutboxNotifier, markSecret, type Attempt, type EntryChecker, type NotifierEntry, type NotifierOptions, type SendResult } from '@sous/core';
import { emailContent } from './message';

/** How to reach the SMTP server. */
export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the start (smtps, port 465); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  auth?: { user: string; pass: string };
}

/** A `type: email` entry of `notifiers`, checked. */
export interface EmailEntry extends NotifierEntry {
  smtp: SmtpSettings;
  from: string;
  to: string[];
  cc: string[];
  /** Also send to the event's user (the tag's author, the deploying user). */
  toUser: boolean;
  /** Also send to the manifest's owners. */
  toOwners: boolean;
  subjectPrefix: string;
}

const ADDRESS = /^(?:[^<>]*<)?[^\s@<>]+@[^\s@<>]+(?:>)?$/;
const OWN_KEYS = ['smtp', 'host', 'port', 'secure', 'auth', 'from', 'to', 'cc', 'toUser', 'toOwners', 'subjectPrefix'];

/** A 5xx reply is a refusal (retrying cannot help), a 4xx one a "try later"; without a reply, only envelope and login errors are final. */
function classify(e: unknown): DeliveryError {
  const err = e as { message?: string; responseCode?: number; code?: string; response?: string };
  const status = typeof err.responseCode === 'number' ? err.responseCode : undefined;
  const permanent = status !== undefined ? status >= 500 : err.code === 'EAUTH' || err.code === 'EENVELOPE';
  const message = (err.response ?? err.message ?? String(e)).split('\n')[0];
  return new DeliveryError(`SMTP: ${err.code ? err.code + ' ' : ''}${message}`, { status, permanent, cause: e });
}

/** Sends events as e-mail through an SMTP server (nodemailer). */
export class EmailNotifier extends OutboxNotifier<EmailEntry> {
  static readonly PLUGIN_NAME = 'sous:notify-email';
  readonly name = EmailNotifier.PLUGIN_NAME;
  readonly notifierType = 'email';

  constructor(options: NotifierOptions & { env?: Record<string, string | undefined> } = {}) {
    super(options);
  }

  private env(): Record<string, string | undefined> {
    return (this.options as { env?: Record<string, string | undefined> }).env ?? process.env;
  }

  private smtp(check: EntryChecker): SmtpSettings | undefined {
    const url = check.url('smtp', { schemes: ['smtp', 'smtps'], hint: 'Write it as smtp://user:password@host:port (or smtps:// for TLS from the start), or give host, port, secure and auth' });
    if (check.entry.smtp !== undefined && !url) return undefined;
    const secureFlag = check.boolean('secure');
    const portField = check.number('port', { min: 1, integer: true });
    if (url) {
      const secure = url.protocol === 'smtps:';
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      markSecret(pass);
      return { host: url.hostname, port: url.port ? Number(url.port) : secure ? 465 : 587, secure, ...(user ? { auth: { user, pass } } : {}) };
    }
    const host = check.string('host', { required: true, hint: 'Give smtp: smtp://user:password@host:port, or host (and port, secure, auth)' });
    let auth: SmtpSettings['auth'];
    const a = check.entry.auth;
    if (a !== undefined) {
      const o = a as Record<string, unknown>;
      const pass = typeof o?.pass === 'string' ? o.pass : typeof o?.passEnv === 'string' ? this.env()[o.passEnv] : undefined;
      if (!o || typeof o !== 'object' || typeof o.user !== 'string') check.fail('NOTIFIER_INVALID_FIELD', 'auth', 'auth must be { user, pass } or { user, passEnv }');
      else if (pass === undefined) {
        check.fail('NOTIFIER_MISSING_FIELD', typeof o.passEnv === 'string' ? 'auth.passEnv' : 'auth.pass', typeof o.passEnv === 'string' ? `the environment variable ${o.passEnv} (auth.passEnv) is not set` : 'auth.pass (or auth.passEnv) is required');
      } else {
        markSecret(pass);
        auth = { user: o.user, pass };
      }
    }
    if (!host) return undefined;
    const secure = secureFlag ?? portField === 465;
    return { host, port: portField ?? (secure ? 465 : 587), secure, ...(auth ? { auth } : {}) };
  }

  private addresses(check: EntryChecker, name: string): string[] {
    const list = check.stringList(name) ?? [];
    for (const a of list) if (!ADDRESS.test(a)) check.fail('NOTIFIER_INVALID_FIELD', name, `${name}: ${JSON.stringify(a)} is not an e-mail address`);
    return list;
  }

  protected parseEntry(check: EntryChecker, common: NotifierEntry): EmailEntry | undefined {
    check.keys(OWN_KEYS);
    const smtp = this.smtp(check);
    const from = check.string('from', { required: true, hint: 'from: sous@example.com' });
    if (from && !ADDRESS.test(from)) check.fail('NOTIFIER_INVALID_FIELD', 'from', `from: ${JSON.stringify(from)} is not an e-mail address`);
    const to = this.addresses(check, 'to');
    const cc = this.addresses(check, 'cc');
    const toUser = check.boolean('toUser') ?? false;
    const toOwners = check.boolean('toOwners') ?? false;
    if (!to.length && !toUser && !toOwners) check.fail('NOTIFIER_MISSING_FIELD', 'to', 'no recipients: give to, or set toUser or toOwners', ['to: [ops@example.com]']);
    const subjectPrefix = check.string('subjectPrefix') ?? '[sous]';
    if (!smtp || !from) return undefined;
    return { ...common, smtp, from, to, cc, toUser, toOwners, subjectPrefix };
  }

  protected identity(entry: EmailEntry): unknown {
    return { host: entry.smtp.host, port: entry.smtp.port, from: entry.from, to: entry.to, cc: entry.cc, toUser: entry.toUser, toOwners: entry.toOwners };
  }

  protected describe(entry: EmailEntry): Record<string, unknown> {
    return { smtp: `${entry.smtp.host}:${entry.smtp.port}`, from: entry.from, to: entry.to };
  }

  /** Who gets this event: the configured addresses, plus the user and owners when asked, each once. */
  recipients(entry: EmailEntry, event: Attempt['event']): string[] {
    const all = [...entry.to];
    if (entry.toUser && event.user?.email && ADDRESS.test(event.user.email)) all.push(event.user.email);
    if (entry.toOwners) all.push(...(event.owners ?? []).filter((o) => ADDRESS.test(o)));
    const seen = new Set<string>();
    return all.filter((a) => {
      const k = a.toLowerCase();
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  protected async send(entry: EmailEntry, a: Attempt): Promise<SendResult> {
    const to = this.recipients(entry, a.event);
    if (!to.length && !entry.cc.length) return {};
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const nodemailer = require('nodemailer') as typeof import('nodemailer');
    const transport = nodemailer.createTransport({
      host: entry.smtp.host,
      port: entry.smtp.port,
      secure: entry.smtp.secure,
      auth: entry.smtp.auth,
      connectionTimeout: entry.timeoutMs,
      greetingTimeout: entry.timeoutMs,
      socketTimeout: entry.timeoutMs,
    });
    const content = emailContent(a.event, entry.subjectPrefix);
    const domain = (/@([^\s@<>]+)>?$/.exec(entry.from)?.[1] ?? 'sous.invalid').toLowerCase();
    const sending = transport.sendMail({
      from: entry.from,
      to,
      cc: entry.cc,
      subject: content.subject,
      text: content.text,
      html: content.html,
      // The same Message-ID on every retry: mail systems drop the duplicates.
      messageId: `<${a.deliveryId}@${domain}>`,
      headers: { 'X-Sous-Event': a.event.type, 'X-Sous-Event-Id': a.event.id, 'X-Sous-Delivery': a.deliveryId },
    });
    const aborted = new Promise<never>((_, reject) => {
      if (a.signal.aborted) reject(new DeliveryError('interrupted'));
      a.signal.addEventListener('abort', () => reject(new DeliveryError('interrupted')), { once: true });
    });
    try {
      const info = await Promise.race([sending, aborted]);
      const code = Number(/^(\d{3})/.exec(String((info as { response?: string }).response ?? ''))?.[1]);
      return { status: Number.isFinite(code) ? code : undefined };
    } catch (e) {
      throw e instanceof DeliveryError ? e : classify(e);
    } finally {
      sending.catch(() => undefined);
      transport.close();
    }
  }
}

/** The e-mail notifier, for plugins: [emailNotifier()] in sous.config.ts. */
export const emailNotifier = (options?: NotifierOptions & { env?: Record<string, string | undefined> }) => new EmailNotifier(options);
