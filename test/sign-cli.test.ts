/**
 * `sous keys generate` and `sous verify` through the real binary with --json,
 * against a real registry.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { signImage } from '@sous/plugin-sign';
import { pushImage, randomLayer, rmrf, startRegistry, type TestRegistry } from './helpers/registries';
import { makeSousEnv, requireBuilt, sousSync, type SousEnv } from './helpers/sous';
import { tempDir } from './helpers/state-repo';

let dir: string;
let env: SousEnv;
let A: TestRegistry;

beforeAll(async () => {
  requireBuilt();
  dir = tempDir('sous-sign-cli-');
  env = makeSousEnv(dir);
  A = await startRegistry(path.join(dir, 'a'));
});
afterAll(async () => {
  await A?.stop();
  rmrf(dir);
});

describe('sous keys generate', () => {
  it('writes a key pair, refuses to overwrite it, and encrypts with SOUS_SIGNING_PASSPHRASE', () => {
    const out = path.join(dir, 'keys');
    const r = sousSync(env, ['keys', 'generate', '--out', out, '--name', 'ci', '--json']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ privateKey: path.join(out, 'ci.key'), publicKey: path.join(out, 'ci.pub'), keyId: expect.stringMatching(/^[0-9a-f]{16}$/), encrypted: false });
    expect(fs.statSync(r.json.privateKey).mode & 0o777).toBe(0o600);
    const key = fs.readFileSync(r.json.privateKey, 'utf8');

    const again = sousSync(env, ['keys', 'generate', '--out', out, '--name', 'ci', '--json']);
    expect(again.code).toBe(2);
    expect(again.json.error.code).toBe('KEY_EXISTS');
    expect(fs.readFileSync(r.json.privateKey, 'utf8')).toBe(key);

    const enc = sousSync(env, ['keys', 'generate', '--out', out, '--name', 'enc', '--json'], { env: { SOUS_SIGNING_PASSPHRASE: 'pw' } });
    expect(enc.json).toMatchObject({ encrypted: true });
    expect(() => crypto.createPrivateKey({ key: fs.readFileSync(enc.json.privateKey, 'utf8'), format: 'pem', passphrase: 'pw' })).not.toThrow();

    const def = sousSync(env, ['keys', 'generate', '--json']);
    expect(def.json.privateKey).toBe(path.join(env.config, 'sous', 'keys', 'sous.key'));
  });
});

describe('sous verify', () => {
  it('exits 0 for a signed image (by digest or by tag), 1 with the code when refused', async () => {
    const out = path.join(dir, 'vkeys');
    const signer = sousSync(env, ['keys', 'generate', '--out', out, '--name', 'signer', '--json']).json;
    const stranger = sousSync(env, ['keys', 'generate', '--out', out, '--name', 'stranger', '--json']).json;
    const img = await pushImage(A.addr, 'acme/shop', [randomLayer(8_000)], { tag: '1.0.0' });
    await signImage({ image: `${A.addr}/acme/shop`, digest: img.digest, key: crypto.createPrivateKey(fs.readFileSync(signer.privateKey)), optional: { 'sous.version': '0.1.0' } });

    const ok = sousSync(env, ['verify', `${A.addr}/acme/shop@${img.digest}`, '--key', signer.publicKey, '--json']);
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({ verified: true, digest: img.digest, signatures: [{ keyId: signer.keyId, optional: { 'sous.version': '0.1.0' } }] });

    const byTag = sousSync(env, ['verify', `${A.addr}/acme/shop:1.0.0`, '--key', stranger.publicKey, '--key', signer.publicKey, '--json']);
    expect(byTag.code).toBe(0);
    expect(byTag.json.digest).toBe(img.digest);

    const untrusted = sousSync(env, ['verify', `${A.addr}/acme/shop:1.0.0`, '--key', stranger.publicKey, '--json']);
    expect(untrusted.code).toBe(1);
    expect(untrusted.json.error.code).toBe('SIGNATURE_UNTRUSTED');

    const unsigned = await pushImage(A.addr, 'acme/shop', [randomLayer(8_000)], { tag: '2.0.0' });
    const missing = sousSync(env, ['verify', `${A.addr}/acme/shop@${unsigned.digest}`, '--key', signer.publicKey, '--json']);
    expect(missing.code).toBe(1);
    expect(missing.json.error.code).toBe('SIGNATURE_MISSING');

    // Without --key, the config's trustedKeys.
    fs.mkdirSync(path.join(env.config, 'sous'), { recursive: true });
    fs.writeFileSync(path.join(env.config, 'sous', 'config.yaml'), `trustedKeys:\n  - ${signer.publicKey}\n`);
    expect(sousSync(env, ['verify', `${A.addr}/acme/shop:1.0.0`, '--json']).code).toBe(0);
    fs.rmSync(path.join(env.config, 'sous', 'config.yaml'));
    const none = sousSync(env, ['verify', `${A.addr}/acme/shop:1.0.0`, '--json']);
    expect([none.code, none.json.error.code]).toEqual([2, 'NO_TRUSTED_KEYS']);

    const bad = sousSync(env, ['verify', 'not an image', '--key', signer.publicKey, '--json']);
    expect([bad.code, bad.json.error.code]).toEqual([2, 'INVALID_IMAGE_REFERENCE']);
    const unreadable = sousSync(env, ['verify', `${A.addr}/acme/shop:1.0.0`, '--key', path.join(out, 'nope.pub'), '--json']);
    expect([unreadable.code, unreadable.json.error.code]).toEqual([2, 'KEY_UNREADABLE']);
  });
});
