import { Readable } from 'node:stream';
import { failure } from '../errors';
import { DigestCheck, checkDigest, digestMismatch, digestOf, isDigest } from './digest';
import { discard, readLimited, refused, unreachable } from './http';
import { MANIFEST_ACCEPT, isImageManifestType, isIndexType, type ImageIndex, type ImageManifest } from './media-types';
import { registryBaseURL } from './reference';

/** How a RegistryClient speaks to its registry. */
export interface RegistryClientOptions {
  /** Registries (host or host:port) spoken to over plain http besides loopback ones. */
  insecure?: readonly string[];
  /** How long to wait for a registry's answer (headers) before calling it unreachable, in ms. Uploads are not limited. */
  timeoutMs?: number;
}

/** What a registry says about a manifest without sending it. */
export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

/** A manifest as fetched: its bytes (which its digest is of) and their parsed form. */
export interface FetchedManifest extends ManifestHead {
  bytes: Buffer;
  json: ImageManifest | ImageIndex;
}

/** Manifests are small; distribution itself refuses ones over 4 MiB. */
const MANIFEST_LIMIT = 4 * 1024 * 1024;

/**
 * A client for one registry's OCI distribution API (`/v2/`): manifests,
 * blobs, uploads, cross-repository mounts and tags. Every download is checked
 * against its digest; every failure is a SousError (REGISTRY_UNREACHABLE,
 * REGISTRY_REFUSED, MANIFEST_UNKNOWN, BLOB_UNKNOWN, DIGEST_MISMATCH).
 */
export class RegistryClient {
  readonly baseURL: string;
  private readonly timeoutMs: number;

  constructor(
    /** host[:port] */
    readonly registry: string,
    opts: RegistryClientOptions = {},
  ) {
    this.baseURL = registryBaseURL(registry, opts.insecure);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
  }

  private url(path: string): string {
    return path.startsWith('http://') || path.startsWith('https://') ? path : `${this.baseURL}${path}`;
  }

  /** One request; network failures become REGISTRY_UNREACHABLE. `limited` bounds the wait for the answer's headers. */
  private async send(path: string, init: RequestInit & { duplex?: 'half' } = {}, limited = true): Promise<Response> {
    const ac = new AbortController();
    const timer = limited ? setTimeout(() => ac.abort(), this.timeoutMs) : undefined;
    try {
      return await fetch(this.url(path), { ...init, signal: ac.signal, redirect: 'follow' } as RequestInit);
    } catch (e) {
      throw unreachable(this.registry, this.baseURL, e, this.timeoutMs);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  /** Checks the registry answers the v2 API (200, or 401 when it wants credentials). */
  async ping(): Promise<void> {
    const res = await this.send('/v2/');
    await discard(res);
    if (res.status !== 200 && res.status !== 401) throw await refused(res, this.registry, 'the API version check');
  }

  /** The manifest's digest, media type and size, or undefined when the registry does not have it. */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const res = await this.send(`/v2/${repository}/manifests/${reference}`, { method: 'HEAD', headers: { accept: MANIFEST_ACCEPT } });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await refused(res, this.registry, `HEAD ${repository}:${reference}`);
    const digest = res.headers.get('docker-content-digest') ?? '';
    if (isDigest(reference) && digest && digest !== reference) throw digestMismatch(`the manifest ${this.registry}/${repository}@${reference}`, reference, digest);
    return { digest: digest || (isDigest(reference) ? reference : ''), mediaType: (res.headers.get('content-type') ?? '').split(';')[0], size: Number(res.headers.get('content-length') ?? 0) };
  }

  /** Fetches a manifest by tag or digest and checks its bytes against the digest asked for (or the one the registry names). */
  async getManifest(repository: string, reference: string): Promise<FetchedManifest> {
    const where = `${this.registry}/${repository}${isDigest(reference) ? '@' : ':'}${reference}`;
    const res = await this.send(`/v2/${repository}/manifests/${reference}`, { headers: { accept: MANIFEST_ACCEPT } });
    if (res.status === 404) {
      await discard(res);
      throw failure('MANIFEST_UNKNOWN', `${where} does not exist`, { hints: ['Check the repository, tag or digest: sous query artifacts lists what was built'], details: { registry: this.registry, repository, reference } });
    }
    if (!res.ok) throw await refused(res, this.registry, `GET ${repository}:${reference}`);
    const bytes = await readLimited(res, MANIFEST_LIMIT, `the manifest ${where}`, this.registry);
    const digest = digestOf(bytes);
    const expected = isDigest(reference) ? reference : res.headers.get('docker-content-digest');
    if (expected && expected !== digest) throw digestMismatch(`the manifest ${where}`, expected, digest);
    let json: ImageManifest | ImageIndex;
    try {
      json = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
    } catch {
      throw failure('MANIFEST_INVALID', `the manifest ${where} is not JSON`, { details: { registry: this.registry, repository, reference } });
    }
    const mediaType = json.mediaType || (res.headers.get('content-type') ?? '').split(';')[0];
    if (!isImageManifestType(mediaType) && !isIndexType(mediaType)) {
      throw failure('MANIFEST_UNSUPPORTED', `the manifest ${where} is of type ${JSON.stringify(mediaType)}, which Sous does not read`, {
        hints: ['Sous reads Docker v2 schema 2 and OCI manifests and indexes: push the image with a current client'],
        details: { mediaType },
      });
    }
    return { digest, mediaType, size: bytes.length, bytes, json };
  }

  /** Stores a manifest under a tag or its digest; returns its digest. */
  async putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = digestOf(bytes);
    if (isDigest(reference) && reference !== digest) throw digestMismatch('the manifest to store', reference, digest);
    const res = await this.send(`/v2/${repository}/manifests/${reference}`, { method: 'PUT', body: bytes, headers: { 'content-type': mediaType } });
    if (res.status !== 201 && res.status !== 200) throw await refused(res, this.registry, `the manifest ${repository}:${reference}`);
    await discard(res);
    const said = res.headers.get('docker-content-digest');
    if (said && said !== digest) throw digestMismatch(`the manifest stored as ${repository}:${reference}`, digest, said);
    return digest;
  }

  /** The blob's size when the repository has it, undefined when not. */
  async headBlob(repository: string, digest: string): Promise<number | undefined> {
    checkDigest(digest);
    const res = await this.send(`/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
    await discard(res);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await refused(res, this.registry, `HEAD blob ${digest} in ${repository}`);
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** A blob as a stream that fails at its end with DIGEST_MISMATCH unless the bytes are the digest's. */
  async getBlob(repository: string, digest: string): Promise<Readable> {
    checkDigest(digest);
    const res = await this.send(`/v2/${repository}/blobs/${digest}`);
    if (res.status === 404) {
      await discard(res);
      throw failure('BLOB_UNKNOWN', `${this.registry}/${repository} has no blob ${digest}`, { details: { registry: this.registry, repository, digest } });
    }
    if (!res.ok) throw await refused(res, this.registry, `GET blob ${digest} in ${repository}`);
    const check = new DigestCheck(digest, `the blob ${this.registry}/${repository}@${digest}`);
    const body = res.body ? Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>) : Readable.from([]);
    body.on('error', (e) => check.destroy(unreachable(this.registry, this.baseURL, e)));
    return body.pipe(check);
  }

  /** A small blob (a config, a signature payload) in memory, checked against its digest. */
  async readBlob(repository: string, digest: string, limit = MANIFEST_LIMIT): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let n = 0;
    const stream = await this.getBlob(repository, digest);
    for await (const c of stream) {
      n += (c as Buffer).length;
      if (n > limit) {
        stream.destroy();
        throw failure('REGISTRY_RESPONSE_TOO_LARGE', `the blob ${digest} in ${this.registry}/${repository} is larger than ${limit} bytes`, { details: { registry: this.registry, digest, limit } });
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /**
   * Uploads one blob (monolithic: POST then a single PUT), streaming when
   * given a stream. Returns the bytes sent. The registry checks the digest
   * too, and refuses the upload when the bytes do not match it.
   */
  async pushBlob(repository: string, digest: string, body: Buffer | Readable, size?: number): Promise<number> {
    checkDigest(digest);
    const start = await this.send(`/v2/${repository}/blobs/uploads/`, { method: 'POST', headers: { 'content-length': '0' } });
    if (start.status !== 202) throw await refused(start, this.registry, `an upload to ${repository}`);
    await discard(start);
    return this.finishUpload(start.headers.get('location'), repository, digest, body, size);
  }

  private async finishUpload(location: string | null, repository: string, digest: string, body: Buffer | Readable, size?: number): Promise<number> {
    if (!location) throw failure('REGISTRY_REFUSED', `${this.registry} started an upload to ${repository} without saying where to send it`, { details: { registry: this.registry } });
    const url = new URL(location, this.baseURL);
    url.searchParams.set('digest', digest);
    let sent = 0;
    let sourceError: unknown;
    let init: RequestInit & { duplex?: 'half' };
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (Buffer.isBuffer(body)) {
      init = { method: 'PUT', body, headers };
    } else {
      if (size !== undefined) headers['content-length'] = String(size);
      async function* counted(src: Readable): AsyncGenerator<Buffer> {
        try {
          for await (const c of src) {
            sent += (c as Buffer).length;
            yield c as Buffer;
          }
        } catch (e) {
          sourceError = e;
          throw e;
        }
      }
      init = { method: 'PUT', body: Readable.toWeb(Readable.from(counted(body))) as unknown as RequestInit['body'], headers, duplex: 'half' };
    }
    let res: Response;
    try {
      res = await this.send(url.toString(), init, false);
    } catch (e) {
      throw sourceError ?? e;
    }
    if (sourceError) throw sourceError;
    if (res.status !== 201) throw await refused(res, this.registry, `the blob ${digest} for ${repository}`);
    await discard(res);
    return Buffer.isBuffer(body) ? body.length : sent;
  }

  /**
   * Asks the registry to link a blob it holds in `from` into `repository`
   * without sending it. False when the registry cannot (it does not hold the
   * blob there); the upload it opened instead is cancelled.
   */
  async mountBlob(repository: string, digest: string, from: string): Promise<boolean> {
    checkDigest(digest);
    const q = new URLSearchParams({ mount: digest, from });
    const res = await this.send(`/v2/${repository}/blobs/uploads/?${q}`, { method: 'POST', headers: { 'content-length': '0' } });
    await discard(res);
    if (res.status === 201) return true;
    if (res.status === 202) {
      const loc = res.headers.get('location');
      if (loc) await this.send(new URL(loc, this.baseURL).toString(), { method: 'DELETE' }).then(discard, () => undefined);
      return false;
    }
    throw await refused(res, this.registry, `mounting ${digest} from ${from} into ${repository}`);
  }

  /** Every tag of a repository (following the registry's pages); none for an unknown repository. */
  async tags(repository: string): Promise<string[]> {
    const out: string[] = [];
    let next: string | undefined = `/v2/${repository}/tags/list?n=1000`;
    while (next) {
      const res = await this.send(next);
      if (res.status === 404) {
        await discard(res);
        return out;
      }
      if (!res.ok) throw await refused(res, this.registry, `the tags of ${repository}`);
      const body = JSON.parse((await readLimited(res, MANIFEST_LIMIT, `the tags of ${repository}`, this.registry)).toString('utf8')) as { tags?: string[] | null };
      out.push(...(body.tags ?? []));
      const link = /<([^>]+)>;\s*rel="?next"?/.exec(res.headers.get('link') ?? '');
      next = link ? new URL(link[1], this.baseURL).toString() : undefined;
    }
    return out;
  }
}
