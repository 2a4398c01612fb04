/**
 * Webhook signatures: `X-Sous-Signature: t=<unix seconds>,v1=<hex>` where the
 * hex is HMAC-SHA256 over `<t>.<body>` with the shared secret. The timestamp
 * is signed too, so a receiver that checks it (and drops delivery ids it has
 * seen) rejects both forgeries and replays.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'X-Sous-Signature';
/** Five minutes either way: room for clock skew, not for replays. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** The HMAC-SHA256 (hex) of `<timestamp>.<body>`. */
export function computeSignature(body: string | Buffer, secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The X-Sous-Signature header value for a body sent now (or at `timestamp`, unix seconds). */
export function signWebhook(body: string | Buffer, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${computeSignature(body, secret, timestamp)}`;
}

export interface VerifyResult {
  ok: boolean;
  /** Why not: the header is malformed, the signature does not match, or the timestamp is outside the tolerance. */
  reason?: 'malformed' | 'mismatch' | 'stale';
  /** The signed timestamp (unix seconds), when the header had one. */
  timestamp?: number;
}

/**
 * Checks a delivery as a receiver: `body` exactly as received (the raw bytes,
 * not re-serialised JSON), the X-Sous-Signature header, the shared secret,
 * and how old (or how far in the future) a timestamp may be.
 *
 * ```ts
 * const v = verifyWebhookSignature(rawBody, req.headers['x-sous-signature'], secret, 300);
 * if (!v.ok) return res.writeHead(401).end(v.reason);
 * ```
 */
export function verifyWebhookSignature(
  body: string | Buffer,
  header: string | string[] | undefined,
  secret: string,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now = Math.floor(Date.now() / 1000),
): VerifyResult {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value || !secret) return { ok: false, reason: 'malformed' };
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of value.split(',')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    const v = part.slice(i + 1).trim();
    if (k === 't' && /^\d+$/.test(v)) timestamp = Number(v);
    else if (k === 'v1' && /^[0-9a-f]{64}$/i.test(v)) signatures.push(v.toLowerCase());
  }
  if (timestamp === undefined || !signatures.length) return { ok: false, reason: 'malformed' };
  const expected = Buffer.from(computeSignature(body, secret, timestamp), 'hex');
  const match = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  if (!match) return { ok: false, reason: 'mismatch', timestamp };
  if (Math.abs(now - timestamp) > toleranceSeconds) return { ok: false, reason: 'stale', timestamp };
  return { ok: true, timestamp };
}
