import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { collectCaCerts } from './ca';
import type { SousError } from '../errors';

let tmp: string;
const PEM_A = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const PEM_B = '-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----';

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

function thrown(fn: () => unknown): SousError {
  try {
    fn();
  } catch (e) {
    return e as SousError;
  }
  throw new Error('expected an error');
}

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sous-ca-'));
});
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('collectCaCerts', () => {
  it('returns nothing when no file is configured or named by the environment', () => {
    expect(collectCaCerts({ build: {} }, {})).toBeUndefined();
  });

  it('concatenates config files, then NODE_EXTRA_CA_CERTS, then SSL_CERT_FILE, each ending in a newline', () => {
    const a = file('a.pem', PEM_A);
    const b = file('b.pem', PEM_B);
    const c = file('c.pem', PEM_A.replace('AAAA', 'CCCC'));
    const r = collectCaCerts({ build: { caCerts: [a] } }, { NODE_EXTRA_CA_CERTS: b, SSL_CERT_FILE: c });
    expect(r?.files).toEqual([a, b, c]);
    expect(r?.pem).toBe(`${PEM_A}${PEM_B}\n${PEM_A.replace('AAAA', 'CCCC')}`);
  });

  it('reads a file named twice (also through a symlink) once', () => {
    const a = file('a.pem', PEM_A);
    fs.symlinkSync(a, path.join(tmp, 'link.pem'));
    const r = collectCaCerts({ build: { caCerts: [a] } }, { NODE_EXTRA_CA_CERTS: path.join(tmp, 'link.pem'), SSL_CERT_FILE: a });
    expect(r?.files).toEqual([a]);
    expect(r?.pem).toBe(PEM_A);
  });

  it('resolves relative config paths against the given directory', () => {
    file('rel.pem', PEM_B);
    const r = collectCaCerts({ build: { caCerts: ['rel.pem'] } }, {}, tmp);
    expect(r?.files).toEqual([path.join(tmp, 'rel.pem')]);
  });

  it('names a missing config file and its field', () => {
    const missing = path.join(tmp, 'nope.pem');
    const e = thrown(() => collectCaCerts({ build: { caCerts: [missing] } }, {}));
    expect(e.code).toBe('CA_CERT_NOT_FOUND');
    expect(e.exit).toBe(2);
    expect(e.message).toContain(missing);
    expect(e.message).toContain('build.caCerts[0]');
    expect(e.field).toBe('build.caCerts.0');
  });

  it('names the environment variable that points at a missing file', () => {
    const e = thrown(() => collectCaCerts({ build: {} }, { SSL_CERT_FILE: path.join(tmp, 'gone.crt') }));
    expect(e.code).toBe('CA_CERT_NOT_FOUND');
    expect(e.message).toContain('SSL_CERT_FILE');
  });

  it('refuses a file with no PEM certificate in it', () => {
    const bad = file('bad.pem', 'not a certificate');
    const e = thrown(() => collectCaCerts({ build: { caCerts: [bad] } }, {}));
    expect(e.code).toBe('CA_CERT_INVALID');
    expect(e.message).toContain(bad);
  });
});
