import { createHmac } from 'node:crypto';
import { computeSignature, signWebhook, verifyWebhookSignature } from './signature';

const secret = 'shared-secret-abc';
const body = JSON.stringify({ id: 'e1', type: 'deploy.succeeded', version: '1.2.3' });
const now = 1_800_000_000;

describe('verifyWebhookSignature', () => {
  it('accepts a delivery signed with the secret, within the tolerance', () => {
    const header = signWebhook(body, secret, now);
    // The documented scheme, computed independently: hex HMAC-SHA256 of "<t>.<body>".
    expect(header).toBe(`t=${now},v1=${createHmac('sha256', secret).update(`${now}.${body}`).digest('hex')}`);
    expect(verifyWebhookSignature(body, header, secret, 300, now + 10)).toEqual({ ok: true, timestamp: now });
    expect(verifyWebhookSignature(Buffer.from(body), [header], secret, 300, now - 10).ok).toBe(true);
  });

  it('rejects a forged body', () => {
    const header = signWebhook(body, secret, now);
    const forged = body.replace('1.2.3', '6.6.6');
    expect(verifyWebhookSignature(forged, header, secret, 300, now)).toEqual({ ok: false, reason: 'mismatch', timestamp: now });
  });

  it('rejects a wrong secret', () => {
    expect(verifyWebhookSignature(body, signWebhook(body, 'someone-else', now), secret, 300, now)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('rejects a replay: a genuine delivery whose timestamp is too old (or too far ahead)', () => {
    const header = signWebhook(body, secret, now);
    expect(verifyWebhookSignature(body, header, secret, 300, now + 301)).toEqual({ ok: false, reason: 'stale', timestamp: now });
    expect(verifyWebhookSignature(body, header, secret, 300, now - 301)).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('rejects a moved timestamp: the timestamp is signed too', () => {
    const sig = computeSignature(body, secret, now);
    expect(verifyWebhookSignature(body, `t=${now + 1000},v1=${sig}`, secret, 300, now + 1000)).toMatchObject({ ok: false, reason: 'mismatch' });
  });

  it('rejects malformed or missing headers', () => {
    for (const h of [undefined, '', 'v1=abc', `t=${now}`, `t=soon,v1=${computeSignature(body, secret, now)}`, 'garbage']) {
      expect(verifyWebhookSignature(body, h, secret, 300, now)).toMatchObject({ ok: false, reason: 'malformed' });
    }
    expect(verifyWebhookSignature(body, signWebhook(body, secret, now), '', 300, now)).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
