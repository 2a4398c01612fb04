import { imageName, imageNameIn, isDigest, parseImageReference, parseVersion, registryClient, type Sous, type StateBackend } from '@sous/core';
import type { BuildJob } from './types';

/**
 * Removes what a build pushed but never recorded. The artifact record is the
 * commit point of a build: an image whose digest no record names is half an
 * artifact (maybe unsigned, maybe not pre-cached everywhere), so it goes from
 * the main registry and from every cluster registry it may have been copied
 * to, together with its signature. A digest some record names is never touched.
 *
 * Returns the image@digest references removed.
 */
export async function removeUnrecorded(sous: Sous, backend: StateBackend, job: BuildJob, log: (line: string) => void): Promise<string[]> {
  if (!job.publishStarted) return [];
  const sl = { repo: job.repo, dir: job.offset };
  const state = await backend.read();
  const registry = sous.config.registry || state.defs.DockerRepo || '';
  if (!registry) return [];
  const name = imageName(registry, job.repo, job.offset, sous.config);
  const { repository } = parseImageReference(name);
  // Every registry is asked with its own credentials (a DELETE needs the delete scope a token service grants).
  const client = (reg: string) => registryClient(reg, sous.config, { timeoutMs: 10_000 });
  const recorded = new Set((await backend.artifacts(sl)).map((a) => a.Digest));

  const suspects = new Set<string>();
  if (job.pushed && isDigest(job.pushed.digest)) suspects.add(job.pushed.digest);
  else {
    // Stopped between the push and noting its digest: the tags this build pushes say what it was.
    const main = client(parseImageReference(name).registry);
    const tags = await main.tags(repository).catch(() => [] as string[]);
    const versionTag = parseVersion(job.version).tag.replace(/\+/g, '_');
    for (const t of tags.filter((x) => x === versionTag || x.startsWith(`z${job.commit}-`))) {
      const head = await main.headManifest(repository, t).catch(() => undefined);
      if (head?.digest) suspects.add(head.digest);
    }
  }
  const unrecorded = [...suspects].filter((d) => !recorded.has(d));
  if (!unrecorded.length) return [];

  const clusters = state.defs.Clusters ?? {};
  const targets = new Set<string>();
  for (const m of state.manifests.values()) {
    if (m.manifest.Source !== job.source) continue;
    for (const c of Object.keys(m.manifest.Deployments ?? {})) if (clusters[c]?.Registry) targets.add(clusters[c].Registry!);
  }
  const removed: string[] = [];
  const places = [parseImageReference(name), ...[...targets].filter((r) => r !== registry).map((r) => parseImageReference(imageNameIn(sous.config, r, name, job.repo, job.offset)))];
  for (const digest of unrecorded) {
    for (const place of places) {
      const c = client(place.registry);
      const where = `${place.registry}/${place.repository}@${digest}`;
      try {
        const sig = await c.headManifest(place.repository, `${digest.replace(':', '-')}.sig`);
        if (sig?.digest && !recorded.has(sig.digest)) await c.deleteManifest(place.repository, sig.digest);
        if (await c.deleteManifest(place.repository, digest)) {
          removed.push(where);
          log(`removed ${where}: pushed by this job, never recorded`);
        }
      } catch (e) {
        log(`could not remove ${where}: ${(e as Error).message}`);
      }
    }
  }
  return removed;
}
