import * as crypto from 'node:crypto';
import { normalizeRepoURL, SousError } from '@sous/core';
import { readJson, writeAtomic } from './files';

/** A refusal of a webhook delivery, with the HTTP status it answers. */
export class WebhookRefusal extends SousError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    hints: string[] = [],
  ) {
    super(code, message, { exit: status >= 500 ? 1 : 2, hints });
  }
}

/**
 * Checks GitHub's `X-Hub-Signature-256: sha256=<hex>` (HMAC-SHA256 of the
 * raw body with the shared secret), in constant time.
 */
export function checkHubSignature(raw: Buffer, header: string | string[] | undefined, secret: string): void {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) throw new WebhookRefusal(401, 'WEBHOOK_UNSIGNED', 'the delivery has no X-Hub-Signature-256 header', ['Set the secret of the webhook to the server\'s webhookSecret (SOUS_WEBHOOK_SECRET)']);
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(value.trim());
  const want = crypto.createHmac('sha256', secret).update(raw).digest();
  // Compared even when malformed, so a bad header takes as long as a wrong one.
  const got = m ? Buffer.from(m[1], 'hex') : Buffer.alloc(32);
  if (!crypto.timingSafeEqual(want, got) || !m) {
    throw new WebhookRefusal(401, 'WEBHOOK_BAD_SIGNATURE', 'the X-Hub-Signature-256 of the delivery does not match its body', ['Check the webhook secret is the server\'s webhookSecret, and that nothing rewrites the body on the way']);
  }
}

/** The JSON a delivery carries: a JSON body, or GitHub's form encoding (payload=<json>). */
export function decodeBody(raw: Buffer, contentType: string | undefined): unknown {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  let text = raw.toString('utf8');
  if (type === 'application/x-www-form-urlencoded') {
    const payload = new URLSearchParams(text).get('payload');
    if (payload === null) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the form-encoded delivery has no payload field');
    text = payload;
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the delivery body is not JSON');
  }
}

/** What a GitHub event says about tags. */
export type HookEvent =
  | { kind: 'ping' }
  | { kind: 'ignored'; reason: string }
  | { kind: 'tag'; action: 'created' | 'deleted'; tag: string; repoNames: string[]; object?: string };

const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

function str(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', `${key} is not a string`);
  return v;
}

/** The names a payload's repository could go by (github.com/acme/shop, and its clone URLs as given). */
function repoNames(payload: Record<string, unknown>): string[] {
  const r = payload.repository;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the payload has no repository object');
  const repo = r as Record<string, unknown>;
  const out = new Set<string>();
  for (const k of ['html_url', 'clone_url', 'git_url', 'ssh_url', 'url']) {
    const v = str(repo, k);
    if (!v) continue;
    out.add(v);
    try {
      out.add(normalizeRepoURL(v));
    } catch {
      // Not every URL field is a clone URL; the ones that are name the repository.
    }
  }
  if (!out.size) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the payload\'s repository has no URL');
  return [...out];
}

/** Reads a GitHub `push`, `create` or `ping` event; anything else is ignored. */
export function parseEvent(event: string | undefined, body: unknown): HookEvent {
  if (!event) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the delivery has no X-GitHub-Event header');
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the payload is not a JSON object');
  const p = body as Record<string, unknown>;
  if (event === 'ping') return { kind: 'ping' };
  if (event === 'push') {
    const ref = str(p, 'ref');
    if (!ref) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the push payload has no ref');
    if (!ref.startsWith('refs/tags/')) return { kind: 'ignored', reason: `${ref} is not a tag` };
    const names = repoNames(p);
    const deleted = p.deleted === true;
    const after = str(p, 'after');
    if (!deleted && (!after || !SHA.test(after) || /^0+$/.test(after))) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', 'the push payload has no object id in after');
    return { kind: 'tag', action: deleted ? 'deleted' : 'created', tag: ref.slice('refs/tags/'.length), repoNames: names, ...(deleted ? {} : { object: after }) };
  }
  if (event === 'create' || event === 'delete') {
    const ref = str(p, 'ref');
    const type = str(p, 'ref_type');
    if (!ref || !type) throw new WebhookRefusal(400, 'WEBHOOK_MALFORMED', `the ${event} payload needs ref and ref_type`);
    if (type !== 'tag') return { kind: 'ignored', reason: `a ${type}, not a tag` };
    return { kind: 'tag', action: event === 'create' ? 'created' : 'deleted', tag: ref, repoNames: repoNames(p) };
  }
  return { kind: 'ignored', reason: `the ${event} event says nothing about tags` };
}

interface Seen {
  entries: { id: string; at: string }[];
}

const KEEP = 10_000;

/**
 * The deliveries already taken (`deliveries.json`), by X-GitHub-Delivery id.
 * The id is not signed, so a captured body re-sent under a new id passes
 * here; what keeps that harmless is the check against the remote (the tag
 * must still name what the body says) and one job per tag and commit.
 */
export class DeliveryLog {
  private seen?: Seen;

  constructor(private readonly file: string) {}

  private load(): Seen {
    this.seen ??= readJson<Seen>(this.file) ?? { entries: [] };
    return this.seen;
  }

  /** Records the delivery; throws WEBHOOK_REPLAYED when it was taken before. */
  take(id: string): void {
    const s = this.load();
    const before = s.entries.find((e) => e.id === id);
    if (before) {
      throw new WebhookRefusal(409, 'WEBHOOK_REPLAYED', `delivery ${id} was taken at ${before.at}`, ['Each delivery is acted on once; push the tag again to build it']);
    }
    s.entries.push({ id, at: new Date().toISOString() });
    if (s.entries.length > KEEP) s.entries.splice(0, s.entries.length - KEEP);
    writeAtomic(this.file, JSON.stringify(s) + '\n');
  }

  /** Forgets a delivery the server could not act on, so that sending it again works. */
  forget(id: string): void {
    const s = this.load();
    s.entries = s.entries.filter((e) => e.id !== id);
    writeAtomic(this.file, JSON.stringify(s) + '\n');
  }
}
