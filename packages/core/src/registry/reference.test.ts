import { formatImageReference, isLoopbackHost, parseImageReference, registryBaseURL } from './reference';
import { DigestCheck, digestOf } from './digest';
import { isSousError } from '../errors';
import { Readable } from 'node:stream';

const D = `sha256:${'a'.repeat(64)}`;

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (isSousError(e)) return e.code;
    throw e;
  }
  return 'NO_ERROR';
}

describe('parseImageReference', () => {
  it.each([
    ['127.0.0.1:5000/acme/shop', { registry: '127.0.0.1:5000', repository: 'acme/shop' }],
    ['registry.acme.com/github.com/acme/shop:1.2.0', { registry: 'registry.acme.com', repository: 'github.com/acme/shop', tag: '1.2.0' }],
    [`localhost/a@${D}`, { registry: 'localhost', repository: 'a', digest: D }],
    [`r.io:443/a/b_c/d-e:v1@${D}`, { registry: 'r.io:443', repository: 'a/b_c/d-e', tag: 'v1', digest: D }],
  ])('%s', (ref, want) => {
    expect(parseImageReference(ref)).toEqual(want);
    expect(formatImageReference(parseImageReference(ref))).toBe(ref);
  });

  it.each(['', 'shop', 'acme/shop', '127.0.0.1:5000/Acme/shop', '127.0.0.1:5000/', 'r.io/a@sha256:abc', 'r.io/a:-bad', 'r.io/a//b'])('refuses %j', (ref) => {
    expect(code(() => parseImageReference(ref))).toBe('INVALID_IMAGE_REFERENCE');
  });
});

describe('registry URLs', () => {
  it('speaks http to loopback and listed hosts only', () => {
    expect(isLoopbackHost('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackHost('127.1.2.3')).toBe(true);
    expect(isLoopbackHost('localhost:5000')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('127.example.com')).toBe(false);
    expect(registryBaseURL('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBaseURL('registry.acme.com')).toBe('https://registry.acme.com');
    expect(registryBaseURL('registry.lan:5000', ['registry.lan'])).toBe('http://registry.lan:5000');
  });
});

describe('Docker Hub', () => {
  it('is docker.io by any of its names, spoken to at registry-1.docker.io, official images under library/', async () => {
    const { RegistryClient } = await import('./client');
    const { canonicalRegistry, apiHost } = await import('./settings');
    expect(['index.docker.io', 'registry-1.docker.io', 'docker.io', 'DOCKER.IO'].map(canonicalRegistry)).toEqual(['docker.io', 'docker.io', 'docker.io', 'docker.io']);
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    const c = new RegistryClient('index.docker.io');
    expect(c.registry).toBe('docker.io');
    expect(c.baseURL).toBe('https://registry-1.docker.io');
    expect((c as unknown as { url(p: string): string }).url('/v2/node/manifests/20')).toBe('https://registry-1.docker.io/v2/library/node/manifests/20');
    expect((c as unknown as { url(p: string): string }).url('/v2/acme/shop/blobs/uploads/')).toBe('https://registry-1.docker.io/v2/acme/shop/blobs/uploads/');
  });
});

describe('DigestCheck', () => {
  const read = async (data: Buffer, digest: string) => {
    const chunks: Buffer[] = [];
    for await (const c of Readable.from([data.subarray(0, 3), data.subarray(3)]).pipe(new DigestCheck(digest, 'test'))) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  it('passes bytes that hash to the digest, and fails others at the end', async () => {
    const data = Buffer.from('hello, registry');
    expect((await read(data, digestOf(data))).toString()).toBe('hello, registry');
    await expect(read(data, digestOf('something else'))).rejects.toMatchObject({ code: 'DIGEST_MISMATCH' });
  });
});
