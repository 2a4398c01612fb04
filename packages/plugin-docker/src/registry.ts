import { failure, isSousError, RegistryClient, type SousError } from '@sous/core';

/** A reference split into the registry host and the repository path on it. */
export interface RegistryRef {
  host: string;
  repository: string;
}

/** `host[:port]/path/name` → { host, repository }; references without a registry host are Docker Hub's. */
export function splitRepository(repo: string): RegistryRef {
  const slash = repo.indexOf('/');
  const first = slash < 0 ? '' : repo.slice(0, slash);
  if (first && (first.includes('.') || first.includes(':') || first === 'localhost')) return { host: first, repository: repo.slice(slash + 1) };
  return { host: 'docker.io', repository: repo.includes('/') ? repo : `library/${repo}` };
}

const REGISTRY_HINTS = [
  'Start the local registry: node scripts/local-engine.js start (it listens on 127.0.0.1:5000)',
  'Or point Sous at a running one: SOUS_DOCKER_REGISTRY_HOST=HOST:PORT, `registry` in the config, or DockerRepo in defs.yaml',
];

/** The registry does not answer at all. */
export function registryUnreachable(host: string, why: string, cause?: unknown): SousError {
  return failure('REGISTRY_UNREACHABLE', `the registry ${host} cannot be reached: ${why}`, { cause, hints: REGISTRY_HINTS, details: { registry: host } });
}

/**
 * The digest the registry serves for `repo:tag`, asked with the v2/OCI
 * manifest types so that it is the digest of what the engine pushed.
 */
export async function registryDigest(repo: string, tag: string): Promise<string> {
  const { host, repository } = splitRepository(repo);
  let head: Awaited<ReturnType<RegistryClient['headManifest']>>;
  try {
    head = await new RegistryClient(host).headManifest(repository, tag);
  } catch (e) {
    if (isSousError(e) && e.code === 'REGISTRY_UNREACHABLE') throw registryUnreachable(host, String(e.details?.reason ?? e.message), e);
    throw e;
  }
  if (!head?.digest) {
    throw failure('DIGEST_UNCONFIRMED', `the registry ${host} does not have ${repository}:${tag} right after the push`, {
      hints: ['Something removed it, or the registry is eventually consistent: push again and check the registry'],
      details: { registry: host, repository, tag },
    });
  }
  return head.digest;
}
