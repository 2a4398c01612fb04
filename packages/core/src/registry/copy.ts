import { RegistryClient, type FetchedManifest, type RegistryClientOptions } from './client';
import { isForeignLayer, isIndexType, type Descriptor, type ImageIndex, type ImageManifest } from './media-types';
import { parseImageReference, type ImageReference } from './reference';

/** Where to copy to: a registry and a repository in it. */
export interface CopyDestination {
  registry: string;
  repository: string;
}

export interface CopyOptions extends RegistryClientOptions {
  /** Tags to point at the copied manifest in the destination, besides its digest. */
  tags?: readonly string[];
  /** Repositories of the destination registry that may already hold the blobs: tried as mount sources before uploading. */
  mountFrom?: readonly string[];
  /** Blobs copied at once. */
  concurrency?: number;
  /** Clients to use, one per registry (created from the options when absent). */
  clients?: Map<string, RegistryClient>;
}

/** What a copy did: how much moved, and how much the destination already had. */
export interface CopyResult {
  /** The digest of the copied manifest (an image manifest or an index). */
  digest: string;
  /** `present` when the destination already had everything and nothing was sent. */
  status: 'copied' | 'present';
  /** Every byte sent to the destination: blobs and manifests. */
  bytesSent: number;
  blobBytesSent: number;
  manifestBytesSent: number;
  /** The image's whole size: its manifests and every blob they name. */
  totalBytes: number;
  blobs: { uploaded: number; mounted: number; present: number };
  manifests: { put: number; present: number };
}

function clientFor(registry: string, clients: Map<string, RegistryClient>, opts: RegistryClientOptions): RegistryClient {
  let c = clients.get(registry);
  if (!c) clients.set(registry, (c = new RegistryClient(registry, opts)));
  return c;
}

/** Runs `fn` over `items`, at most `limit` at a time; the first failure wins once all have settled. */
async function eachLimit<T>(items: readonly T[], limit: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  let first: unknown;
  const worker = async () => {
    while (i < items.length) {
      const t = items[i++];
      try {
        await fn(t);
      } catch (e) {
        first ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (first !== undefined) throw first;
}

/**
 * Copies an image by digest (or tag) from one registry repository to
 * another: the manifest (an index with every child), the config and the
 * layers. Blobs the destination already has are skipped; within one registry
 * they are mounted, not sent; downloads are checked against their digests
 * while they stream through. Copying again changes nothing and sends nothing.
 */
export async function copyImage(src: ImageReference | string, dst: CopyDestination | string, opts: CopyOptions = {}): Promise<CopyResult> {
  const from = typeof src === 'string' ? parseImageReference(src) : src;
  const to = typeof dst === 'string' ? parseImageReference(dst) : dst;
  const clients = opts.clients ?? new Map<string, RegistryClient>();
  const s = clientFor(from.registry, clients, opts);
  const d = clientFor(to.registry, clients, opts);
  const r: CopyResult = { digest: '', status: 'present', bytesSent: 0, blobBytesSent: 0, manifestBytesSent: 0, totalBytes: 0, blobs: { uploaded: 0, mounted: 0, present: 0 }, manifests: { put: 0, present: 0 } };
  const mountFrom = [...(from.registry === to.registry && from.repository !== to.repository ? [from.repository] : []), ...(opts.mountFrom ?? [])].filter((x) => x !== to.repository);
  const concurrency = opts.concurrency ?? 4;
  const seen = new Set<string>();

  const copyBlob = async (b: Descriptor): Promise<void> => {
    if (seen.has(b.digest)) return;
    seen.add(b.digest);
    r.totalBytes += b.size;
    if ((await d.headBlob(to.repository, b.digest)) !== undefined) {
      r.blobs.present++;
      return;
    }
    for (const repo of mountFrom) {
      if (await d.mountBlob(to.repository, b.digest, repo)) {
        r.blobs.mounted++;
        return;
      }
    }
    const stream = await s.getBlob(from.repository, b.digest);
    const n = await d.pushBlob(to.repository, b.digest, stream, b.size);
    r.blobs.uploaded++;
    r.blobBytesSent += n;
  };

  const put = async (m: FetchedManifest, reference: string): Promise<void> => {
    await d.putManifest(to.repository, reference, m.bytes, m.mediaType);
    r.manifests.put++;
    r.manifestBytesSent += m.bytes.length;
  };

  /** Copies a manifest and what it names, children first, so the destination never holds a manifest whose content it lacks. */
  const copyManifest = async (m: FetchedManifest, reference: string): Promise<void> => {
    r.totalBytes += m.bytes.length;
    if (await d.headManifest(to.repository, m.digest)) {
      r.manifests.present++;
      await sizeOf(m);
      return;
    }
    if (isIndexType(m.mediaType)) {
      for (const child of (m.json as ImageIndex).manifests ?? []) {
        await copyManifest(await s.getManifest(from.repository, child.digest), child.digest);
      }
    } else {
      const im = m.json as ImageManifest;
      const blobs = [im.config, ...(im.layers ?? [])].filter((b) => b && !isForeignLayer(b));
      await eachLimit(blobs, concurrency, copyBlob);
    }
    await put(m, reference);
  };

  /** Adds the size of what an already present manifest names, so totalBytes is the image's size either way. */
  const sizeOf = async (m: FetchedManifest): Promise<void> => {
    if (isIndexType(m.mediaType)) {
      for (const child of (m.json as ImageIndex).manifests ?? []) {
        r.totalBytes += child.size;
        const cm = await s.getManifest(from.repository, child.digest);
        await sizeOf(cm);
      }
    } else {
      const im = m.json as ImageManifest;
      for (const b of [im.config, ...(im.layers ?? [])]) {
        if (b && !seen.has(b.digest)) {
          seen.add(b.digest);
          r.totalBytes += b.size;
        }
      }
    }
  };

  const top = await s.getManifest(from.repository, from.digest ?? from.tag ?? 'latest');
  r.digest = top.digest;
  const tags = [...new Set(opts.tags ?? [])];
  await copyManifest(top, tags[0] ?? top.digest);
  for (const tag of tags) {
    const head = await d.headManifest(to.repository, tag);
    if (head?.digest === top.digest) continue;
    await put(top, tag);
  }
  r.bytesSent = r.blobBytesSent + r.manifestBytesSent;
  r.status = r.bytesSent === 0 && r.blobs.mounted === 0 && r.manifests.put === 0 ? 'present' : 'copied';
  return r;
}
