import * as path from 'node:path';
import { OutboxNotifier, httpPost, markSecret, type Attempt, type AttemptRecord, type EntryChecker, type NotifierEntry, type NotifierOptions, type SendResult } from '@sous/core';
import { SIGNATURE_HEADER, signWebhook } from './signature';

/** A `type: webhook` entry of `notifiers`, checked. */
export interface WebhookEntry extends NotifierEntry {
  url: string;
  /** The HMAC key deliveries are signed with. */
  secret: string;
  /** Extra request headers (an API key the receiver wants, say). */
  headers: Record<string, string>;
}

const OWN_KEYS = ['url', 'secret', 'secretEnv', 'headers'];
const RESERVED_HEADERS = /^(content-type|content-length|host|x-sous-.*)$/i;

function userAgent(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return `sous-webhook/${(require(path.join(__dirname, '..', 'package.json')) as { version: string }).version}`;
  } catch {
    return 'sous-webhook';
  }
}

/**
 * Sends events as signed JSON POSTs. Each request carries the event as its
 * body and the headers X-Sous-Event (the type), X-Sous-Event-Id,
 * X-Sous-Delivery (stable across retries: drop duplicates by it),
 * X-Sous-Attempt and X-Sous-Signature (see `verifyWebhookSignature`).
 */
export class WebhookNotifier extends OutboxNotifier<WebhookEntry> {
  static readonly PLUGIN_NAME = 'sous:notify-webhook';
  readonly name = WebhookNotifier.PLUGIN_NAME;
  readonly notifierType = 'webhook';
  private readonly ua = userAgent();

  constructor(
    options: NotifierOptions & { env?: Record<string, string | undefined> } = {},
  ) {
    super(options);
  }

  protected parseEntry(check: EntryChecker, common: NotifierEntry): WebhookEntry | undefined {
    check.keys(OWN_KEYS);
    const url = check.url('url', { required: true, schemes: ['https', 'http'], hint: 'Write it as https://host[:port]/path' });
    const env = (this.options as { env?: Record<string, string | undefined> }).env ?? process.env;
    const secretEnv = check.string('secretEnv');
    let secret = check.string('secret');
    if (!secret && secretEnv) {
      secret = env[secretEnv];
      if (!secret) check.fail('NOTIFIER_MISSING_FIELD', 'secretEnv', `the environment variable ${secretEnv} (secretEnv) is not set`, [`export ${secretEnv}=<the shared secret>`]);
    }
    secret ??= env.SOUS_WEBHOOK_SECRET || undefined;
    if (!secret && !secretEnv) {
      check.fail('NOTIFIER_MISSING_FIELD', 'secret', 'secret is required: deliveries are signed with it (HMAC-SHA256) so receivers can reject forgeries', [
        'Generate one with: openssl rand -hex 32',
        'Or name an environment variable that holds it: secretEnv: MY_WEBHOOK_SECRET (SOUS_WEBHOOK_SECRET is read when neither is given)',
      ]);
    }
    markSecret(secret);
    const headers: Record<string, string> = {};
    const h = check.entry.headers;
    if (h !== undefined) {
      if (!h || typeof h !== 'object' || Array.isArray(h) || Object.values(h).some((v) => typeof v !== 'string')) {
        check.fail('NOTIFIER_INVALID_FIELD', 'headers', 'headers must map header names to strings');
      } else {
        for (const [k, v] of Object.entries(h as Record<string, string>)) {
          if (RESERVED_HEADERS.test(k)) check.fail('NOTIFIER_INVALID_FIELD', `headers.${k}`, `header ${k} is set by Sous itself`);
          else headers[k] = v;
          markSecret(v);
        }
      }
    }
    if (!url || !secret) return undefined;
    return { ...common, url: url.toString(), secret, headers };
  }

  protected identity(entry: WebhookEntry): unknown {
    return entry.url;
  }

  protected describe(entry: WebhookEntry): Record<string, unknown> {
    // The path of a webhook URL is often a credential itself: keep only the origin.
    return { url: new URL(entry.url).origin };
  }

  protected async send(entry: WebhookEntry, a: Attempt): Promise<SendResult> {
    const body = JSON.stringify(a.event);
    const r = await httpPost(entry.url, body, {
      timeoutMs: entry.timeoutMs,
      signal: a.signal,
      headers: {
        ...entry.headers,
        'Content-Type': 'application/json',
        'User-Agent': this.ua,
        'X-Sous-Event': a.event.type,
        'X-Sous-Event-Id': a.event.id,
        'X-Sous-Delivery': a.deliveryId,
        'X-Sous-Attempt': String(a.attempt),
        [SIGNATURE_HEADER]: signWebhook(body, entry.secret),
      },
    });
    return { status: r.status };
  }

  /** The delivery log of every webhook entry of this plugin: each attempt's time, status, duration and error. */
  async deliveryLog(): Promise<(AttemptRecord & { notifier: string })[]> {
    const out: (AttemptRecord & { notifier: string })[] = [];
    for (const ch of this.channels) for (const a of await ch.outbox.attempts()) out.push({ ...a, notifier: ch.label });
    return out.sort((x, y) => x.time.localeCompare(y.time));
  }
}

/** The webhook notifier, for plugins: [webhookNotifier()] in sous.config.ts. */
export const webhookNotifier = (options?: NotifierOptions & { env?: Record<string, string | undefined> }) => new WebhookNotifier(options);
