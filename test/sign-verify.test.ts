/**
 * Signing and verification against a real registry: the stored format is
 * cosign's, a round trip verifies, and each way a signature can be wrong is
 * refused with its own code. Keys: generation, passphrases, unreadable files.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { digestOf, isSousError, MEDIA_TYPES, RegistryClient, Sous, type Artifact, type ImageManifest, type ResolvedConfig, type SousError } from '@sous/core';
import { sign, generateKeyPair, loadPrivateKey, loadPublicKey, makePayload, signatureImage, signatureLayer, signatureTag, signImage, verifyImageSignature, writeKeyPair } from '@sous/plugin-sign';
import { blobFile, pushImage, randomLayer, refusingProxy, rmrf, startRegistry, type TestRegistry } from './helpers/registries';
import { tempDir } from './helpers/state-repo';

let dir: string;
let A: TestRegistry;
let client: RegistryClient;
const trusted = generateKeyPair();
const other = generateKeyPair();
const key = () => crypto.createPrivateKey(trusted.privateKeyPem);

beforeAll(async () => {
  dir = tempDir('sous-sign-');
  A = await startRegistry(`${dir}/a`);
  client = new RegistryClient(A.addr);
});
afterAll(async () => {
  await A?.stop();
  rmrf(dir);
});

async function caught(p: Promise<unknown> | (() => unknown)): Promise<SousError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isSousError(e)) return e;
    throw e;
  }
  throw new Error('expected a SousError');
}

async function image(repo: string) {
  return pushImage(A.addr, repo, [randomLayer(4096)], { tag: '1.0.0' });
}

/** Stores a signature image made of these layers (payload bytes, base64 signature) under the image's .sig tag. */
async function storeSignature(repo: string, digest: string, layers: { payload: Buffer; sig: string; pem?: string }[]) {
  const ls = layers.map((l) => signatureLayer(l.payload, l.sig, 'test', l.pem ?? trusted.publicKeyPem));
  for (const l of ls) await client.pushBlob(repo, l.descriptor.digest, l.bytes);
  const { config, manifest } = signatureImage(
    ls.map((l) => l.descriptor),
    new Date().toISOString(),
  );
  await client.pushBlob(repo, config.descriptor.digest, config.bytes);
  await client.putManifest(repo, signatureTag(digest), manifest, MEDIA_TYPES.ociManifest);
}

describe('signing', () => {
  it("stores cosign's format next to the image, and verifies", async () => {
    const img = await image('acme/shop');
    const r = await signImage({ image: `${A.addr}/acme/shop:1.0.0`, digest: img.digest, key: key(), optional: { 'sous.version': '0.1.0', 'sous.contract.health': 'passed' } });
    expect(r.tag).toBe(`sha256-${img.digest.slice(7)}.sig`);
    expect(r.keyId).toBe(trusted.keyId);

    const m = await client.getManifest('acme/shop', r.tag);
    expect(m.digest).toBe(r.digest);
    const sm = m.json as ImageManifest;
    expect(sm.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(sm.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    expect(sm.layers).toHaveLength(1);
    expect(sm.layers[0].mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
    const payload = await client.readBlob('acme/shop', sm.layers[0].digest);
    expect(JSON.parse(payload.toString())).toEqual({
      critical: { identity: { 'docker-reference': `${A.addr}/acme/shop` }, image: { 'docker-manifest-digest': img.digest }, type: 'cosign container image signature' },
      optional: { 'sous.contract.health': 'passed', 'sous.version': '0.1.0' },
    });
    // What `cosign verify --key` does with it: base64-decode the annotation, ECDSA-SHA256 verify over the payload bytes.
    const sig = Buffer.from(sm.layers[0].annotations!['dev.cosignproject.cosign/signature'], 'base64');
    expect(crypto.verify('sha256', payload, crypto.createPublicKey(trusted.publicKeyPem), sig)).toBe(true);
    const cfg = JSON.parse((await client.readBlob('acme/shop', sm.config.digest)).toString());
    expect(cfg.rootfs).toEqual({ type: 'layers', diff_ids: [sm.layers[0].digest] });

    const v = await verifyImageSignature({ image: `${A.addr}/acme/shop`, digest: img.digest, keys: [trusted.publicKeyPem] });
    expect(v.signatures).toHaveLength(1);
    expect(v.signatures[0]).toMatchObject({ keyId: trusted.keyId, dockerReference: `${A.addr}/acme/shop`, optional: { 'sous.contract.health': 'passed' } });
    // A tag resolves to its digest first.
    expect((await verifyImageSignature({ image: `${A.addr}/acme/shop:1.0.0`, keys: [trusted.publicKeyPem] })).digest).toBe(img.digest);
  });

  it('signing the same thing again pushes nothing; another key adds a signature beside the first', async () => {
    const img = await image('acme/twice');
    const opts = { image: `${A.addr}/acme/twice`, digest: img.digest, optional: { 'sous.version': '0.1.0' } };
    const first = await signImage({ ...opts, key: key() });
    const again = await signImage({ ...opts, key: key() });
    expect(again).toMatchObject({ reused: true, digest: first.digest });
    const second = await signImage({ ...opts, key: crypto.createPrivateKey(other.privateKeyPem) });
    expect(second.reused).toBe(false);
    expect(((await client.getManifest('acme/twice', second.tag)).json as ImageManifest).layers).toHaveLength(2);
    for (const k of [trusted, other]) {
      expect((await verifyImageSignature({ image: opts.image, digest: img.digest, keys: [k.publicKeyPem] })).signatures[0].keyId).toBe(k.keyId);
    }
  });

  it('SIGN_PUSH_REFUSED when the registry refuses the signature, and no signature is stored', async () => {
    const img = await image('acme/denied');
    const proxy = await refusingProxy(A.addr, /\.sig$/, 403);
    try {
      const e = await caught(signImage({ image: `${proxy.addr}/acme/denied`, digest: img.digest, key: key() }));
      expect(e.code).toBe('SIGN_PUSH_REFUSED');
      expect(e.message).toContain('denied');
      expect(proxy.refused).toBe(1);
    } finally {
      await proxy.close();
    }
    expect(await client.headManifest('acme/denied', signatureTag(img.digest))).toBeUndefined();
  });

  it('the sign hook leaves the artifact unsigned when the push is refused, and signs it otherwise', async () => {
    const img = await image('acme/hook');
    const keyFile = path.join(dir, 'hook.key');
    fs.writeFileSync(keyFile, trusted.privateKeyPem, { mode: 0o600 });
    const sous = new Sous({ warnings: [], sign: {}, signingKey: keyFile } as unknown as ResolvedConfig).use(sign());
    const artifactAt = (registry: string): Artifact => ({
      source: { repo: 'github.com/acme/hook', offset: '', revision: 'abc' } as never,
      image: { id: '', name: `${registry}/acme/hook`, tags: [], labels: {}, contentKey: '' },
      reference: `${registry}/acme/hook@${img.digest}`,
      digest: img.digest,
      contracts: [{ name: 'health', status: 'passed', durationMs: 1 }],
      precache: {},
      targets: [],
      timings: {},
    });
    const proxy = await refusingProxy(A.addr, /\.sig$/, 405);
    const refused = artifactAt(proxy.addr);
    try {
      expect((await caught(sous.hooks.sign.promise(refused))).code).toBe('SIGN_PUSH_REFUSED');
    } finally {
      await proxy.close();
    }
    expect(refused.signature).toBeUndefined();
    const ok = artifactAt(A.addr);
    await sous.hooks.sign.promise(ok);
    expect(ok.signature).toMatchObject({ tag: signatureTag(img.digest), keyId: trusted.keyId });
  });

  it('refuses to sign an image the registry does not have', async () => {
    expect((await caught(signImage({ image: `${A.addr}/acme/shop`, digest: digestOf('absent'), key: key() }))).code).toBe('MANIFEST_UNKNOWN');
  });
});

describe('verification refuses, each with its own code', () => {
  it('SIGNATURE_MISSING for an image never signed', async () => {
    const img = await image('acme/unsigned');
    const e = await caught(verifyImageSignature({ image: `${A.addr}/acme/unsigned@${img.digest}`, keys: [trusted.publicKeyPem] }));
    expect(e.code).toBe('SIGNATURE_MISSING');
  });

  it('SIGNATURE_UNTRUSTED for a valid signature by a key not trusted', async () => {
    const img = await image('acme/untrusted');
    await signImage({ image: `${A.addr}/acme/untrusted`, digest: img.digest, key: crypto.createPrivateKey(other.privateKeyPem) });
    const e = await caught(verifyImageSignature({ image: `${A.addr}/acme/untrusted@${img.digest}`, keys: [trusted.publicKeyPem] }));
    expect(e.code).toBe('SIGNATURE_UNTRUSTED');
    expect(e.message).toContain(other.keyId);
  });

  it('SIGNATURE_INVALID for signature bytes that do not match the payload', async () => {
    const img = await image('acme/invalid');
    const payload = makePayload(`${A.addr}/acme/invalid`, img.digest, {});
    const overOther = crypto.sign('sha256', Buffer.concat([payload, Buffer.from(' ')]), key()).toString('base64');
    await storeSignature('acme/invalid', img.digest, [{ payload, sig: overOther }]);
    const e = await caught(verifyImageSignature({ image: `${A.addr}/acme/invalid@${img.digest}`, keys: [trusted.publicKeyPem] }));
    expect(e.code).toBe('SIGNATURE_INVALID');
  });

  it("SIGNATURE_DIGEST_MISMATCH for another image's signature copied onto this one", async () => {
    const signed = await image('acme/tampered');
    const target = await pushImage(A.addr, 'acme/tampered', [randomLayer(4096)], { tag: '2.0.0' });
    const r = await signImage({ image: `${A.addr}/acme/tampered`, digest: signed.digest, key: key() });
    const sig = await client.getManifest('acme/tampered', r.tag);
    await client.putManifest('acme/tampered', signatureTag(target.digest), sig.bytes, sig.mediaType);
    const e = await caught(verifyImageSignature({ image: `${A.addr}/acme/tampered@${target.digest}`, keys: [trusted.publicKeyPem] }));
    expect(e.code).toBe('SIGNATURE_DIGEST_MISMATCH');
    expect(e.message).toContain(signed.digest);
  });

  it('SIGNATURE_PAYLOAD_CORRUPT for a payload that is not a signature payload, or whose stored bytes were damaged', async () => {
    const img = await image('acme/corrupt');
    const garbage = Buffer.from('{"critical": {"image": ');
    await storeSignature('acme/corrupt', img.digest, [{ payload: garbage, sig: crypto.sign('sha256', garbage, key()).toString('base64') }]);
    const e = await caught(verifyImageSignature({ image: `${A.addr}/acme/corrupt@${img.digest}`, keys: [trusted.publicKeyPem] }));
    expect(e.code).toBe('SIGNATURE_PAYLOAD_CORRUPT');

    const img2 = await image('acme/damaged');
    const r = await signImage({ image: `${A.addr}/acme/damaged`, digest: img2.digest, key: key() });
    const layer = ((await client.getManifest('acme/damaged', r.tag)).json as ImageManifest).layers[0];
    const f = blobFile(A, layer.digest);
    fs.writeFileSync(f, fs.readFileSync(f, 'utf8').replace('cosign container image signature', 'cosign container image signaturE'));
    const e2 = await caught(verifyImageSignature({ image: `${A.addr}/acme/damaged@${img2.digest}`, keys: [trusted.publicKeyPem] }));
    expect(e2.code).toBe('SIGNATURE_PAYLOAD_CORRUPT');
  });

  it('a good signature wins over broken ones beside it', async () => {
    const img = await image('acme/mixed');
    const payload = makePayload(`${A.addr}/acme/mixed`, img.digest, {});
    await storeSignature('acme/mixed', img.digest, [
      { payload, sig: Buffer.from('not a signature').toString('base64') },
      { payload, sig: crypto.sign('sha256', payload, key()).toString('base64') },
    ]);
    expect((await verifyImageSignature({ image: `${A.addr}/acme/mixed@${img.digest}`, keys: [other.publicKeyPem, trusted.publicKeyPem] })).signatures).toHaveLength(1);
  });
});

describe('keys', () => {
  it('writes a pair (private 0600), refuses to overwrite it, and replaces it with --force', () => {
    const out = path.join(dir, 'keys');
    const w = writeKeyPair({ dir: out, name: 'ci', passphrase: 'correct horse' });
    expect(fs.statSync(w.privateKey).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(w.privateKey, 'utf8')).toContain('BEGIN ENCRYPTED PRIVATE KEY');
    expect(loadPublicKey(w.publicKey).keyId).toBe(w.keyId);
    expect(loadPrivateKey(w.privateKey, 'correct horse').keyId).toBe(w.keyId);
    const before = fs.readFileSync(w.privateKey, 'utf8');
    const e = (() => {
      try {
        writeKeyPair({ dir: out, name: 'ci' });
      } catch (err) {
        return err as SousError;
      }
      throw new Error('expected KEY_EXISTS');
    })();
    expect(e.code).toBe('KEY_EXISTS');
    expect(fs.readFileSync(w.privateKey, 'utf8')).toBe(before);
    const forced = writeKeyPair({ dir: out, name: 'ci', force: true });
    expect(forced.keyId).not.toBe(w.keyId);
    expect(fs.readdirSync(out).sort()).toEqual(['ci.key', 'ci.pub']);
  });

  it('KEY_PASSPHRASE_WRONG, KEY_PASSPHRASE_MISSING and KEY_UNREADABLE', async () => {
    const w = writeKeyPair({ dir: path.join(dir, 'pp'), name: 'k', passphrase: 'right' });
    expect((await caught(() => loadPrivateKey(w.privateKey, 'wrong'))).code).toBe('KEY_PASSPHRASE_WRONG');
    expect((await caught(() => loadPrivateKey(w.privateKey))).code).toBe('KEY_PASSPHRASE_MISSING');
    expect((await caught(() => loadPrivateKey(path.join(dir, 'no-such.key')))).code).toBe('KEY_UNREADABLE');
    expect((await caught(() => loadPrivateKey(dir))).code).toBe('KEY_UNREADABLE');
    const junk = path.join(dir, 'junk.key');
    fs.writeFileSync(junk, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n');
    expect((await caught(() => loadPrivateKey(junk))).code).toBe('KEY_UNREADABLE');
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect((await caught(() => loadPrivateKey(String(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }))))).code).toBe('KEY_UNREADABLE');
    expect((await caught(() => loadPublicKey(w.privateKey))).code).toBe('KEY_UNREADABLE');
    expect((await caught(verifyImageSignature({ image: `${A.addr}/acme/shop:1.0.0`, keys: [] }))).code).toBe('NO_TRUSTED_KEYS');
  });
});
