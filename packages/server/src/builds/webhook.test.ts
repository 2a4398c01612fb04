import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkHubSignature, decodeBody, DeliveryLog, parseEvent } from './webhook';

const SECRET = 'a-secret-of-some-length';
const sign = (body: string, secret = SECRET) => 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
const repository = { html_url: 'https://github.com/acme/shop', clone_url: 'https://github.com/acme/shop.git', ssh_url: 'git@github.com:acme/shop.git' };
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return [(e as { status: number }).status, (e as { code: string }).code];
  }
  return 'no error';
};

describe('checkHubSignature', () => {
  const body = Buffer.from('{"zen":"x"}');
  it('takes the HMAC of the raw body with the secret, and nothing else', () => {
    expect(code(() => checkHubSignature(body, sign(body.toString()), SECRET))).toBe('no error');
    expect(code(() => checkHubSignature(body, [sign(body.toString())], SECRET))).toBe('no error');
    expect(code(() => checkHubSignature(body, undefined, SECRET))).toEqual([401, 'WEBHOOK_UNSIGNED']);
    expect(code(() => checkHubSignature(body, sign(body.toString(), 'another-secret-here'), SECRET))).toEqual([401, 'WEBHOOK_BAD_SIGNATURE']);
    expect(code(() => checkHubSignature(Buffer.from('{"zen":"y"}'), sign(body.toString()), SECRET))).toEqual([401, 'WEBHOOK_BAD_SIGNATURE']);
    expect(code(() => checkHubSignature(body, sign(body.toString()).replace('sha256=', 'sha1='), SECRET))).toEqual([401, 'WEBHOOK_BAD_SIGNATURE']);
    expect(code(() => checkHubSignature(body, 'sha256=', SECRET))).toEqual([401, 'WEBHOOK_BAD_SIGNATURE']);
  });
});

describe('decodeBody', () => {
  it('reads JSON and GitHub form encoding, and refuses anything else', () => {
    expect(decodeBody(Buffer.from('{"a":1}'), 'application/json; charset=utf-8')).toEqual({ a: 1 });
    expect(decodeBody(Buffer.from(`payload=${encodeURIComponent('{"a":2}')}`), 'application/x-www-form-urlencoded')).toEqual({ a: 2 });
    expect(code(() => decodeBody(Buffer.from('a=1'), 'application/x-www-form-urlencoded'))).toEqual([400, 'WEBHOOK_MALFORMED']);
    expect(code(() => decodeBody(Buffer.from('{'), 'application/json'))).toEqual([400, 'WEBHOOK_MALFORMED']);
  });
});

describe('parseEvent', () => {
  const sha = 'a'.repeat(40);
  it('reads tag pushes, creations and deletions', () => {
    expect(parseEvent('push', { ref: 'refs/tags/v1.2.3', after: sha, repository })).toEqual({ kind: 'tag', action: 'created', tag: 'v1.2.3', object: sha, repoNames: expect.arrayContaining(['github.com/acme/shop', repository.clone_url]) });
    expect(parseEvent('push', { ref: 'refs/tags/1.0.0', after: '0'.repeat(40), deleted: true, repository })).toMatchObject({ kind: 'tag', action: 'deleted', tag: '1.0.0' });
    expect(parseEvent('create', { ref: '1.0.0', ref_type: 'tag', repository })).toMatchObject({ kind: 'tag', action: 'created', tag: '1.0.0' });
    expect(parseEvent('delete', { ref: '1.0.0', ref_type: 'tag', repository })).toMatchObject({ kind: 'tag', action: 'deleted' });
  });
  it('ignores what is not about tags', () => {
    expect(parseEvent('push', { ref: 'refs/heads/main', after: sha, repository })).toEqual({ kind: 'ignored', reason: 'refs/heads/main is not a tag' });
    expect(parseEvent('create', { ref: 'x', ref_type: 'branch', repository })).toMatchObject({ kind: 'ignored' });
    expect(parseEvent('issues', { action: 'opened' })).toMatchObject({ kind: 'ignored' });
    expect(parseEvent('ping', { zen: 'z' })).toEqual({ kind: 'ping' });
  });
  it('refuses malformed payloads', () => {
    for (const [event, body] of [
      [undefined, { ref: 'refs/tags/1.0.0' }],
      ['push', null],
      ['push', []],
      ['push', { ref: 7, repository }],
      ['push', { ref: 'refs/tags/1.0.0', after: 'zz', repository }],
      ['push', { ref: 'refs/tags/1.0.0', after: '0'.repeat(40), repository }],
      ['push', { ref: 'refs/tags/1.0.0', after: sha }],
      ['push', { ref: 'refs/tags/1.0.0', after: sha, repository: {} }],
      ['create', { ref: '1.0.0', repository }],
    ] as [string | undefined, unknown][]) {
      expect([event, body, code(() => parseEvent(event, body))]).toEqual([event, body, [400, 'WEBHOOK_MALFORMED']]);
    }
  });
});

describe('DeliveryLog', () => {
  it('takes a delivery id once, across restarts', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sous-deliveries-')), 'deliveries.json');
    new DeliveryLog(file).take('d1');
    expect(code(() => new DeliveryLog(file).take('d1'))).toEqual([409, 'WEBHOOK_REPLAYED']);
    expect(code(() => new DeliveryLog(file).take('d2'))).toBe('no error');
    const log = new DeliveryLog(file);
    log.forget('d2');
    expect(code(() => log.take('d2'))).toBe('no error');
  });
});
