/**
 * The cache plugin's precache hook on real registries: every target
 * cluster's registry gets the image and its signature, in parallel; an
 * unreachable registry fails only its own clusters; a second run sends
 * nothing; clusters sharing a registry share one copy.
 */
import * as path from 'node:path';
import { RegistryClient, Sous, type Artifact, type ResolvedConfig } from '@sous/core';
import { cache } from '@sous/plugin-cache';
import { generateKeyPair, signImage, signatureTag, verifyImageSignature } from '@sous/plugin-sign';
import * as crypto from 'node:crypto';
import { freePort, pushImage, randomLayer, rmrf, startRegistry, type TestRegistry } from './helpers/registries';
import { tempDir } from './helpers/state-repo';

let dir: string;
let A: TestRegistry;
let B: TestRegistry;
let C: TestRegistry;

beforeAll(async () => {
  dir = tempDir('sous-precache-');
  [A, B, C] = await Promise.all(['a', 'b', 'c'].map((n) => startRegistry(path.join(dir, n))));
});
afterAll(async () => {
  await Promise.all([A, B, C].map((r) => r?.stop()));
  rmrf(dir);
});

const config = { warnings: [], sign: {} } as unknown as ResolvedConfig;

function artifactFor(reference: string, digest: string, targets: Artifact['targets']): Artifact {
  const name = reference.slice(0, reference.indexOf('@'));
  return {
    source: {} as never,
    image: { id: digest, name, tags: [`${name}:2.0.0`], labels: {}, contentKey: '' },
    reference,
    digest,
    contracts: [],
    precache: {},
    targets,
    timings: {},
  };
}

describe('precache hook', () => {
  it('copies image and signature into every cluster registry; one down fails alone; a second run sends nothing', async () => {
    const img = await pushImage(A.addr, 'acme/shop', [randomLayer(40_000), randomLayer(20_000)], { tag: '2.0.0' });
    const key = generateKeyPair();
    await signImage({ image: `${A.addr}/acme/shop`, digest: img.digest, key: crypto.createPrivateKey(key.privateKeyPem) });
    const down = `127.0.0.1:${await freePort()}`;
    const targets = [
      { cluster: 'east', registry: B.addr },
      { cluster: 'east-2', registry: B.addr },
      { cluster: 'west', registry: C.addr },
      { cluster: 'south', registry: down },
      { cluster: 'local' },
    ];
    const sous = new Sous(config).use(cache());

    const a1 = artifactFor(`${A.addr}/acme/shop@${img.digest}`, img.digest, targets);
    await sous.hooks.precache.promise(a1);
    expect(Object.keys(a1.precache).sort()).toEqual(['east', 'east-2', 'south', 'west']);
    for (const c of ['east', 'east-2', 'west']) {
      expect(a1.precache[c].status).toBe('copied');
      expect(a1.precache[c].bytesSent).toBeGreaterThanOrEqual(img.totalBytes);
    }
    expect(a1.precache.east.registry).toBe(B.addr);
    expect(a1.precache.south).toMatchObject({ registry: down, status: 'failed' });
    expect(a1.precache.south.message).toContain('REGISTRY_UNREACHABLE');

    for (const r of [B, C]) {
      const c = new RegistryClient(r.addr);
      expect((await c.headManifest('acme/shop', '2.0.0'))?.digest).toBe(img.digest);
      expect(await c.headManifest('acme/shop', signatureTag(img.digest))).toBeDefined();
      expect((await verifyImageSignature({ image: `${r.addr}/acme/shop@${img.digest}`, keys: [key.publicKeyPem] })).signatures).toHaveLength(1);
    }

    const a2 = artifactFor(`${A.addr}/acme/shop@${img.digest}`, img.digest, targets);
    await sous.hooks.precache.promise(a2);
    for (const c of ['east', 'east-2', 'west']) expect(a2.precache[c]).toMatchObject({ status: 'present', bytesSent: 0 });
    expect(a2.precache.south.status).toBe('failed');
  });

  it('an unsigned image is copied without a signature', async () => {
    const img = await pushImage(A.addr, 'acme/plain', [randomLayer(5_000)], { tag: '2.0.0' });
    const a = artifactFor(`${A.addr}/acme/plain@${img.digest}`, img.digest, [{ cluster: 'east', registry: B.addr }]);
    await new Sous(config).use(cache()).hooks.precache.promise(a);
    expect(a.precache.east.status).toBe('copied');
    expect(await new RegistryClient(B.addr).headManifest('acme/plain', img.digest)).toBeDefined();
    expect(await new RegistryClient(B.addr).headManifest('acme/plain', signatureTag(img.digest))).toBeUndefined();
  });
});
