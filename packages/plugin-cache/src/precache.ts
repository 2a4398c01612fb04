import { copyImage, imageNameIn, isSousError, parseImageReference, registryClient, type Artifact, type CopyResult, type ImageReference, type RegistryClient, type RegistryConfig } from '@sous/core';

/** One cluster's pre-cache outcome, as the artifact records it. */
export type PrecacheOutcome = Artifact['precache'][string];

/** What to pre-cache where. */
export interface PrecacheRequest {
  /** registry/repository@digest of the published image. */
  reference: string;
  /** Tags to give the copy besides its digest (the version tag). */
  tags?: readonly string[];
  /** cluster → its registry (host[:port]). */
  targets: readonly { cluster: string; registry?: string }[];
  insecure?: readonly string[];
  /** Blobs copied at once per registry. */
  concurrency?: number;
  /** The resolved config: each registry's credentials, TLS and image name template. */
  config?: RegistryConfig;
  /** The source location, for the names cluster registries with their own template give the image. */
  source?: { repo: string; offset: string };
}

/** The tag cosign keeps an image's signatures under. */
function signatureTag(digest: string): string {
  return digest.replace(':', '-') + '.sig';
}

/**
 * Copies the image, and its signatures when it has any, into one registry.
 * Bytes are counted over both.
 */
export async function copyWithSignature(
  src: ImageReference,
  registry: string,
  opts: { tags?: readonly string[]; insecure?: readonly string[]; concurrency?: number; clients?: Map<string, RegistryClient>; config?: RegistryConfig; source?: { repo: string; offset: string }; repository?: string },
): Promise<{ image: CopyResult; signature?: CopyResult }> {
  const dst = { registry, repository: opts.repository ?? src.repository };
  const clients = opts.clients ?? new Map<string, RegistryClient>();
  for (const r of [src.registry, registry]) if (!clients.has(r)) clients.set(r, registryClient(r, opts.config, { insecure: opts.insecure }));
  const common = { insecure: opts.insecure, concurrency: opts.concurrency, clients };
  const image = await copyImage(src, dst, { ...common, tags: opts.tags });
  const sigTag = signatureTag(image.digest);
  const source = clients.get(src.registry)!;
  if (!(await source.headManifest(src.repository, sigTag))) return { image };
  const signature = await copyImage({ registry: src.registry, repository: src.repository, tag: sigTag }, dst, { ...common, tags: [sigTag] });
  return { image, signature };
}

/**
 * Pre-caches an image into every target cluster's registry at once. A
 * registry that fails marks its clusters 'failed' and never stops the
 * others; clusters sharing a registry share one copy.
 */
export async function precache(req: PrecacheRequest): Promise<Record<string, PrecacheOutcome>> {
  const src = parseImageReference(req.reference);
  const byRegistry = new Map<string, string[]>();
  for (const t of req.targets) {
    if (!t.registry) continue;
    byRegistry.set(t.registry, [...(byRegistry.get(t.registry) ?? []), t.cluster]);
  }
  const out: Record<string, PrecacheOutcome> = {};
  await Promise.all(
    [...byRegistry].map(async ([registry, clusters]) => {
      let outcome: PrecacheOutcome;
      try {
        // A cluster registry with an image name template of its own names the copy its way.
        const to = req.source ? parseImageReference(imageNameIn(req.config, registry, `${src.registry}/${src.repository}`, req.source.repo, req.source.offset)) : { registry, repository: src.repository };
        const r = await copyWithSignature(src, to.registry, { tags: req.tags, insecure: req.insecure, concurrency: req.concurrency, config: req.config, repository: to.repository });
        const bytesSent = r.image.bytesSent + (r.signature?.bytesSent ?? 0);
        const copied = r.image.status === 'copied' || r.signature?.status === 'copied';
        const blobs = r.image.blobs;
        outcome = {
          registry,
          status: copied ? 'copied' : 'present',
          message: copied
            ? `${blobs.uploaded} blob(s) sent, ${blobs.mounted} mounted, ${blobs.present} already there${r.signature ? '; signature copied' : ''}`
            : `already there${r.signature ? ', with its signature' : ''}`,
          bytesSent,
        };
      } catch (e) {
        const code = isSousError(e) ? e.code : 'PRECACHE_FAILED';
        outcome = { registry, status: 'failed', message: `${e instanceof Error ? e.message : String(e)} [${code}]` };
      }
      for (const c of clusters) out[c] = { ...outcome };
    }),
  );
  return out;
}
