import { imageName, isDigest, parseImageReference, parseVersion, RegistryClient, registryBaseURL, type Sous, type StateBackend } from '@sous/core';
import type { BuildJob } from './types';

async function del(base: string, repository: string, digest: string, timeoutMs: number): Promise<boolean> {
  const res = await fetch(`${base}/v2/${repository}/manifests/${digest}`, { method: 'DELETE', signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status === 202 || res.status === 200) return true;
  if (res.status === 404) return false;
  throw new Error(`the registry answered ${res.status} to DELETE ${repository}@${digest}`);
}

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
  const name = imageName(registry, job.repo, job.offset);
  const { repository } = parseImageReference(name);
  const insecure = (sous.config.sign as { insecureRegistries?: string[] })?.insecureRegistries ?? [];
  const recorded = new Set((await backend.artifacts(sl)).map((a) => a.Digest));

  const suspects = new Set<string>();
  if (job.pushed && isDigest(job.pushed.digest)) suspects.add(job.pushed.digest);
  else {
    // Stopped between the push and noting its digest: the tags this build pushes say what it was.
    const client = new RegistryClient(registry, { insecure, timeoutMs: 10_000 });
    const tags = await client.tags(repository).catch(() => [] as string[]);
    const versionTag = parseVersion(job.version).tag.replace(/\+/g, '_');
    for (const t of tags.filter((x) => x === versionTag || x.startsWith(`z${job.commit}-`))) {
      const head = await client.headManifest(repository, t).catch(() => undefined);
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
  for (const digest of unrecorded) {
    for (const reg of [registry, ...[...targets].filter((r) => r !== registry)]) {
      const base = registryBaseURL(reg, insecure);
      const client = new RegistryClient(reg, { insecure, timeoutMs: 10_000 });
      try {
        const sig = await client.headManifest(repository, `${digest.replace(':', '-')}.sig`);
        if (sig?.digest && !recorded.has(sig.digest)) await del(base, repository, sig.digest, 10_000);
        if (await del(base, repository, digest, 10_000)) {
          removed.push(`${reg}/${repository}@${digest}`);
          log(`removed ${reg}/${repository}@${digest}: pushed by this job, never recorded`);
        }
      } catch (e) {
        log(`could not remove ${reg}/${repository}@${digest}: ${(e as Error).message}`);
      }
    }
  }
  return removed;
}
