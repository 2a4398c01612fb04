import { isSousError, parseImageReference, registryClient, type RegistryConfig, type ArtifactRecord, type BuiltImage, type CacheQuery } from '@sous/core';

/**
 * An earlier build of the same inputs whose image the registry still has:
 * the newest deployable record with the query's content key. Unreachable
 * registries and missing images are misses, never failures: the build then
 * simply builds.
 */
export async function lookupBuilt(query: CacheQuery, opts: { insecure?: readonly string[]; config?: RegistryConfig; onMiss?: (why: string) => void } = {}): Promise<BuiltImage | undefined> {
  const candidates = query.artifacts
    .filter((a: ArtifactRecord) => a.ContentKey === query.contentKey && a.Digest && a.Image && a.Deployable !== false)
    .sort((a, b) => (b.BuiltAt ?? '').localeCompare(a.BuiltAt ?? ''));
  for (const a of candidates) {
    try {
      const ref = parseImageReference(a.Image);
      const head = await registryClient(ref.registry, opts.config, { insecure: opts.insecure }).headManifest(ref.repository, a.Digest);
      if (!head) {
        opts.onMiss?.(`${a.Image}@${a.Digest} (${a.Version}) is gone from its registry`);
        continue;
      }
      return {
        id: a.Digest,
        name: a.Image,
        tags: [...query.tags],
        labels: { ...(a.Labels ?? {}) },
        contentKey: query.contentKey,
        cachedFrom: `${a.Image}@${a.Digest}`,
        digest: a.Digest,
      };
    } catch (e) {
      if (!isSousError(e)) throw e;
      opts.onMiss?.(`${a.Image}@${a.Digest} (${a.Version}) could not be checked: ${e.message}`);
    }
  }
  return undefined;
}
