/**
 * The registry client and copyImage against two real registries on
 * 127.0.0.1: copies into an empty registry, shared layers skipped, repeat
 * copies that send nothing, mounts within one registry, indexes, and every
 * failure code (a damaged blob, an unknown manifest, a closed port, a refusal).
 */
import * as fs from 'node:fs';
import { copyImage, digestOf, isSousError, MEDIA_TYPES, RegistryClient, type SousError } from '@sous/core';
import { blobFile, freePort, pushImage, randomLayer, rmrf, startRegistry, type TestRegistry } from './helpers/registries';
import { tempDir } from './helpers/state-repo';

let dir: string;
let A: TestRegistry;
let B: TestRegistry;

beforeAll(async () => {
  dir = tempDir('sous-registry-');
  [A, B] = await Promise.all([startRegistry(`${dir}/a`), startRegistry(`${dir}/b`)]);
});
afterAll(async () => {
  await Promise.all([A?.stop(), B?.stop()]);
  rmrf(dir);
});

async function caught(p: Promise<unknown>): Promise<SousError> {
  try {
    await p;
  } catch (e) {
    if (isSousError(e)) return e;
    throw e;
  }
  throw new Error('expected a SousError');
}

const KB = 1024;

describe('copyImage between two registries', () => {
  it('copies into an empty registry, then skips the layers a second version shares, then sends nothing', async () => {
    const shared = [randomLayer(300 * KB), randomLayer(200 * KB)];
    const v1 = await pushImage(A.addr, 'acme/shop', [...shared, randomLayer(100 * KB)], { tag: '1.0.0' });
    const changed = randomLayer(150 * KB);
    const v2 = await pushImage(A.addr, 'acme/shop', [...shared, changed], { tag: '1.1.0' });

    const first = await copyImage(`${A.addr}/acme/shop@${v1.digest}`, `${B.addr}/acme/shop`, { tags: ['1.0.0'] });
    expect(first.status).toBe('copied');
    expect(first.digest).toBe(v1.digest);
    expect(first.blobs).toEqual({ uploaded: 4, mounted: 0, present: 0 });
    expect(first.blobBytesSent).toBe(v1.totalBytes - v1.manifest.length);
    expect(first.manifestBytesSent).toBe(v1.manifest.length);
    expect(first.totalBytes).toBe(v1.totalBytes);

    const b = new RegistryClient(B.addr);
    const got = await b.getManifest('acme/shop', '1.0.0');
    expect(got.digest).toBe(v1.digest);
    for (const l of v1.layers) expect(await b.headBlob('acme/shop', l.digest)).toBe(l.size);

    const second = await copyImage(`${A.addr}/acme/shop:1.1.0`, { registry: B.addr, repository: 'acme/shop' });
    expect(second.status).toBe('copied');
    expect(second.blobs).toEqual({ uploaded: 2, mounted: 0, present: 2 });
    // Only the changed layer and the new config move.
    expect(second.blobBytesSent).toBe(changed.length + v2.config.size);
    expect(second.totalBytes).toBe(v2.totalBytes);

    const again = await copyImage(`${A.addr}/acme/shop@${v1.digest}`, `${B.addr}/acme/shop`, { tags: ['1.0.0'] });
    expect(again.status).toBe('present');
    expect(again.bytesSent).toBe(0);
    expect(again.blobs.uploaded).toBe(0);
    expect(again.manifests).toEqual({ put: 0, present: 1 });
  });

  it('mounts blobs within one registry instead of sending them', async () => {
    const img = await pushImage(A.addr, 'acme/api', [randomLayer(64 * KB), randomLayer(32 * KB)]);
    const r = await copyImage(`${A.addr}/acme/api@${img.digest}`, `${A.addr}/mirror/acme/api`);
    expect(r.status).toBe('copied');
    expect(r.blobs).toEqual({ uploaded: 0, mounted: 3, present: 0 });
    expect(r.blobBytesSent).toBe(0);
    expect((await new RegistryClient(A.addr).getManifest('mirror/acme/api', img.digest)).digest).toBe(img.digest);
  });

  it('copies an OCI index with every child manifest', async () => {
    const amd = await pushImage(A.addr, 'acme/multi', [randomLayer(10 * KB)], { oci: true });
    const arm = await pushImage(A.addr, 'acme/multi', [randomLayer(12 * KB)], { oci: true });
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [
          { mediaType: MEDIA_TYPES.ociManifest, size: amd.manifest.length, digest: amd.digest, platform: { architecture: 'amd64', os: 'linux' } },
          { mediaType: MEDIA_TYPES.ociManifest, size: arm.manifest.length, digest: arm.digest, platform: { architecture: 'arm64', os: 'linux' } },
        ],
      }),
    );
    const a = new RegistryClient(A.addr);
    const digest = await a.putManifest('acme/multi', 'latest', index, MEDIA_TYPES.ociIndex);
    expect(digest).toBe(digestOf(index));
    const r = await copyImage(`${A.addr}/acme/multi:latest`, `${B.addr}/acme/multi`, { tags: ['latest'] });
    expect(r.manifests.put).toBe(3);
    expect(r.totalBytes).toBe(index.length + amd.totalBytes + arm.totalBytes);
    const b = new RegistryClient(B.addr);
    expect((await b.getManifest('acme/multi', 'latest')).mediaType).toBe(MEDIA_TYPES.ociIndex);
    expect(await b.headManifest('acme/multi', arm.digest)).toMatchObject({ digest: arm.digest });
    expect(await b.tags('acme/multi')).toEqual(['latest']);
  });

  it('refuses a blob whose bytes are not its digest, and leaves no manifest behind', async () => {
    const img = await pushImage(A.addr, 'acme/broken', [randomLayer(50 * KB)]);
    const f = blobFile(A, img.layers[0].digest);
    const bytes = fs.readFileSync(f);
    bytes[100] ^= 0xff;
    fs.writeFileSync(f, bytes);
    const e = await caught(copyImage(`${A.addr}/acme/broken@${img.digest}`, `${B.addr}/acme/broken`));
    expect(e.code).toBe('DIGEST_MISMATCH');
    expect(await new RegistryClient(B.addr).headManifest('acme/broken', img.digest)).toBeUndefined();
    expect(await new RegistryClient(B.addr).headBlob('acme/broken', img.layers[0].digest)).toBeUndefined();
  });
});

describe('registry client failures', () => {
  it('MANIFEST_UNKNOWN and BLOB_UNKNOWN for what a registry does not have', async () => {
    const a = new RegistryClient(A.addr);
    const missing = digestOf('nothing here');
    expect((await caught(a.getManifest('acme/shop', missing))).code).toBe('MANIFEST_UNKNOWN');
    expect((await caught(a.getManifest('no/such/repo', 'latest'))).code).toBe('MANIFEST_UNKNOWN');
    expect((await caught(a.getBlob('acme/shop', missing))).code).toBe('BLOB_UNKNOWN');
    expect(await a.headManifest('acme/shop', missing)).toBeUndefined();
    expect((await caught(copyImage(`${A.addr}/acme/shop@${missing}`, `${B.addr}/acme/shop`))).code).toBe('MANIFEST_UNKNOWN');
  });

  it('REGISTRY_UNREACHABLE for a port nothing listens on', async () => {
    const port = await freePort();
    const e = await caught(new RegistryClient(`127.0.0.1:${port}`).headManifest('acme/shop', 'latest'));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain('ECONNREFUSED');
  });

  it("REGISTRY_REFUSED carries the registry's own error message", async () => {
    const b = new RegistryClient(B.addr);
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config: { mediaType: MEDIA_TYPES.dockerConfig, size: 2, digest: digestOf('{}') }, layers: [] }));
    const e = await caught(b.putManifest('acme/refused', 'latest', manifest, MEDIA_TYPES.dockerManifest));
    expect(e.code).toBe('REGISTRY_REFUSED');
    expect(e.message).toMatch(/MANIFEST_BLOB_UNKNOWN|blob unknown/i);
    expect(e.details).toMatchObject({ status: 400 });
  });

  it('refuses an upload whose bytes are not the digest named', async () => {
    const e = await caught(new RegistryClient(B.addr).pushBlob('acme/x', digestOf('one thing'), Buffer.from('another thing')));
    expect(e.code).toBe('REGISTRY_REFUSED');
    expect(e.message).toMatch(/DIGEST_INVALID|digest/i);
  });
});
